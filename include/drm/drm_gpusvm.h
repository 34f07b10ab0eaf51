/* SPDX-License-Identifier: GPL-2.0-only OR MIT */

#ifndef __DRM_GPUSVM_H__
#define __DRM_GPUSVM_H__

#include <linux/bug.h>
#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mmu_notifier.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/types.h>

struct dev_pagemap_ops;
struct drm_device;
struct drm_gpusvm;
struct drm_gpusvm_notifier;
struct drm_gpusvm_range;
struct drm_pagemap;
struct drm_pagemap_addr;
struct mm_struct;

/**
 * struct drm_gpusvm_ops - Driver callbacks of a GPU SVM instance
 *
 * Only @invalidate is required; the allocation hooks let a driver embed the
 * notifier or subclass the range.
 */
struct drm_gpusvm_ops {
	/**
	 * @notifier_alloc: Allocate a notifier (optional, default kzalloc).
	 *
	 * Returns a zeroed notifier or NULL on failure.
	 */
	struct drm_gpusvm_notifier *(*notifier_alloc)(void);

	/**
	 * @notifier_free: Free a notifier from @notifier_alloc (optional,
	 * default kfree).
	 */
	void (*notifier_free)(struct drm_gpusvm_notifier *notifier);

	/**
	 * @range_alloc: Allocate a range (optional, default kzalloc).
	 *
	 * Called without the notifier lock; may sleep. Returns a zeroed range
	 * or NULL on failure.
	 */
	struct drm_gpusvm_range *(*range_alloc)(struct drm_gpusvm *gpusvm);

	/**
	 * @range_free: Free a range from @range_alloc (optional, default
	 * kfree). Must not touch &drm_gpusvm_range.notifier: the notifier may
	 * be gone by the time the last reference is dropped.
	 */
	void (*range_free)(struct drm_gpusvm_range *range);

	/**
	 * @invalidate: Invalidate the GPU mappings of a CPU address span
	 * (required).
	 *
	 * Called with the notifier lock held for write. The driver zaps its
	 * GPU page-table entries for the span, calls
	 * drm_gpusvm_range_unmap_pages() with &drm_gpusvm_ctx.in_notifier set
	 * on every range in it and, on %MMU_NOTIFY_UNMAP, marks those ranges
	 * with drm_gpusvm_range_set_unmapped() and queues them for its garbage
	 * collector.
	 */
	void (*invalidate)(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_notifier *notifier,
			   const struct mmu_notifier_range *mmu_range);
};

/**
 * struct drm_gpusvm - One GPU VM mirroring one CPU address space
 *
 * The fields are set by drm_gpusvm_init() and read-only afterwards, except
 * where noted.
 */
struct drm_gpusvm {
	/** @name: Name of the instance, for debugging. */
	const char *name;
	/** @drm: DRM device the GPU VM belongs to. */
	struct drm_device *drm;
	/** @mm: CPU address space mirrored (NULL for a pages-only instance). */
	struct mm_struct *mm;
	/** @mm_start: Start of the mirrored window of @mm. */
	unsigned long mm_start;
	/** @mm_range: Size of the mirrored window of @mm. */
	unsigned long mm_range;
	/** @notifier_size: Size and alignment of each notifier window. */
	unsigned long notifier_size;
	/** @ops: Driver callbacks. */
	const struct drm_gpusvm_ops *ops;
	/**
	 * @chunk_sizes: Range sizes to try, powers of two in descending
	 * order, the last one %SZ_4K.
	 */
	const unsigned long *chunk_sizes;
	/** @num_chunks: Number of entries in @chunk_sizes. */
	int num_chunks;
	/**
	 * @notifier_lock: Held for write by the invalidation callback, for
	 * read while pages are mapped, ranges are inserted or removed and while
	 * the driver commits GPU page-table entries. Protects the pages state
	 * of every range and the range trees against invalidation.
	 */
	struct rw_semaphore notifier_lock;
	/** @root: Interval tree of the notifiers, protected by the driver lock. */
	struct rb_root_cached root;
	/** @notifier_list: Notifiers in address order, same protection as @root. */
	struct list_head notifier_list;
#ifdef CONFIG_LOCKDEP
	/**
	 * @lock_dep_map: Lockdep map of the driver lock that serialises tree
	 * changes; set by drm_gpusvm_driver_set_lock().
	 */
	struct lockdep_map *lock_dep_map;
#endif
};

int drm_gpusvm_init(struct drm_gpusvm *gpusvm, const char *name,
		    struct drm_device *drm, struct mm_struct *mm,
		    unsigned long mm_start, unsigned long mm_range,
		    unsigned long notifier_size,
		    const struct drm_gpusvm_ops *ops,
		    const unsigned long *chunk_sizes, int num_chunks);
void drm_gpusvm_fini(struct drm_gpusvm *gpusvm);

#ifdef CONFIG_LOCKDEP
static inline void
__drm_gpusvm_driver_set_lockdep_map(struct drm_gpusvm *gpusvm,
				    struct lockdep_map *map)
{
	if (!WARN(gpusvm->lock_dep_map, "GPU SVM driver lock set twice"))
		gpusvm->lock_dep_map = map;
}

/**
 * drm_gpusvm_driver_set_lock() - Annotate the driver lock of a GPU SVM
 * @gpusvm: Pointer to the GPU SVM structure.
 * @lock: The lock (any lock with a dep_map) that serialises tree changes.
 *
 * Call right after drm_gpusvm_init(), before any other call. The helpers
 * then assert with lockdep that the lock is held where the contract says so.
 */
#define drm_gpusvm_driver_set_lock(gpusvm, lock) \
	__drm_gpusvm_driver_set_lockdep_map(gpusvm, &(lock)->dep_map)
#else
#define drm_gpusvm_driver_set_lock(gpusvm, lock) \
	do { (void)(gpusvm); (void)(lock); } while (0)
#endif

/**
 * drm_gpusvm_notifier_lock() - Take the notifier lock for read
 * @gpusvm__: Pointer to the GPU SVM structure.
 *
 * For the driver's commit step: check drm_gpusvm_range_pages_valid() and
 * write GPU page-table entries under it.
 */
#define drm_gpusvm_notifier_lock(gpusvm__) down_read(&(gpusvm__)->notifier_lock)

/**
 * drm_gpusvm_notifier_unlock() - Release the notifier lock
 * @gpusvm__: Pointer to the GPU SVM structure.
 */
#define drm_gpusvm_notifier_unlock(gpusvm__) up_read(&(gpusvm__)->notifier_lock)

#endif /* __DRM_GPUSVM_H__ */
