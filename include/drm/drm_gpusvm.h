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

#include <drm/drm_pagemap.h>

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
	 * Returns a zeroed notifier or NULL on failure (an ERR_PTR() is
	 * taken as a failure too, with a warning).
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
	 * or NULL on failure (an ERR_PTR() is taken as a failure too, with a
	 * warning).
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
	 * Called with the notifier lock held for write. For every range that
	 * overlaps the span, the driver zaps its GPU page-table entries over
	 * the whole range (not only the span: unmapping drops the whole
	 * range's DMA mappings), then calls drm_gpusvm_range_unmap_pages()
	 * with &drm_gpusvm_ctx.in_notifier set and, on %MMU_NOTIFY_UNMAP,
	 * marks the range with drm_gpusvm_range_set_unmapped() and queues it
	 * for its garbage collector. Must not take the driver lock nor
	 * allocate memory that may sleep.
	 */
	void (*invalidate)(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_notifier *notifier,
			   const struct mmu_notifier_range *mmu_range);
};

/**
 * struct drm_gpusvm_notifier - An mmu interval notifier over a window of the mm
 *
 * Covers one &drm_gpusvm.notifier_size aligned window of the mirrored mm and
 * holds the ranges inside it. Created with its first range, removed with its
 * last one.
 */
struct drm_gpusvm_notifier {
	/** @gpusvm: The GPU SVM instance the notifier belongs to. */
	struct drm_gpusvm *gpusvm;
	/** @notifier: The mmu interval notifier registered with the mm. */
	struct mmu_interval_notifier notifier;
	/**
	 * @itree: Node in &drm_gpusvm.root; @itree.last is inclusive.
	 * Protected by the driver lock.
	 */
	struct interval_tree_node itree;
	/** @entry: Entry in &drm_gpusvm.notifier_list. */
	struct list_head entry;
	/**
	 * @root: Interval tree of the ranges in the window. Changed under the
	 * driver lock and the notifier lock held for read, so both the driver
	 * and the invalidation callback may walk it.
	 */
	struct rb_root_cached root;
	/** @range_list: The ranges in address order, same protection as @root. */
	struct list_head range_list;
	/** @flags: State of the notifier. */
	struct {
		/**
		 * @flags.removed: The mmu interval notifier is already gone
		 * from the mm (set by drm_gpusvm_fini()).
		 */
		u32 removed : 1;
	} flags;
};

/**
 * struct drm_gpusvm_pages_flags - State of a &struct drm_gpusvm_pages
 *
 * The bits share a word with @__flags so that they can be read locklessly with
 * READ_ONCE() for opportunistic checks; they are written with WRITE_ONCE()
 * under &drm_gpusvm.notifier_lock, where the authoritative checks happen.
 *
 * @has_dma_mapping: &drm_gpusvm_pages.dma_addr holds live mappings.
 * @has_devmem_pages: Some of those mappings are device pages.
 * @has_system_pages: Some of those mappings are system pages.
 * @unmapped: The CPU mapping is gone; drm_gpusvm_get_pages() fails with
 *	-EFAULT.
 * @__flags: All flags as one word.
 */
struct drm_gpusvm_pages_flags {
	union {
		struct {
			u16 has_dma_mapping : 1;
			u16 has_devmem_pages : 1;
			u16 has_system_pages : 1;
			u16 unmapped : 1;
		};
		u16 __flags;
	};
};

/**
 * struct drm_gpusvm_pages - DMA state of one CPU span for one device
 *
 * Filled by drm_gpusvm_get_pages() and emptied by drm_gpusvm_unmap_pages()
 * (which keeps @dma_addr allocated) and drm_gpusvm_free_pages(). Calls on the
 * same pages must be serialised by the caller, and use the same span until
 * drm_gpusvm_free_pages().
 */
struct drm_gpusvm_pages {
	/**
	 * @dma_addr: One entry per mapped chunk; entry ``j + 1`` starts
	 * ``1 << dma_addr[j].order`` pages after entry ``j``. Valid while
	 * drm_gpusvm_pages_valid() is true under the notifier lock.
	 */
	struct drm_pagemap_addr *dma_addr;
	/** @dpagemap: The device memory region of the device pages, if any. */
	struct drm_pagemap *dpagemap;
	/**
	 * @owner: The device-private owner of @dpagemap, kept so that a
	 * re-fault compares it without the notifier lock (@dpagemap may go
	 * with the mapping).
	 */
	void *owner;
	/**
	 * @notifier_seq: mmu_interval_read_begin() sequence number the
	 * mapping was made under.
	 */
	unsigned long notifier_seq;
	/** @flags: State of the pages. */
	struct drm_gpusvm_pages_flags flags;
};

/**
 * struct drm_gpusvm_range_flags - State of a &struct drm_gpusvm_range
 *
 * Same lockless read rules as &struct drm_gpusvm_pages_flags.
 *
 * @migrate_devmem: The range may be migrated to device memory (set at
 *	creation: &drm_gpusvm_ctx.devmem_possible and a private mapping that
 *	is anonymous or has anonymous pages). A hint for the driver's
 *	placement policy: drm_pagemap_migrate_to_devmem() checks again.
 * @unmapped: The CPU mapping of (part of) the range is gone; the driver
 *	should remove the range.
 * @partial_unmap: Only part of the range was unmapped.
 * @__flags: All flags as one word.
 */
struct drm_gpusvm_range_flags {
	union {
		struct {
			u16 migrate_devmem : 1;
			u16 unmapped : 1;
			u16 partial_unmap : 1;
		};
		u16 __flags;
	};
};

/**
 * struct drm_gpusvm_range - A span of the mm the GPU mirrors
 *
 * Created by drm_gpusvm_range_find_or_insert() on a GPU fault, removed by the
 * driver with drm_gpusvm_range_remove(). Drivers subclass it through
 * &drm_gpusvm_ops.range_alloc.
 */
struct drm_gpusvm_range {
	/** @gpusvm: The GPU SVM instance the range belongs to. */
	struct drm_gpusvm *gpusvm;
	/**
	 * @notifier: The notifier the range lies in; only valid while the
	 * range is in its tree.
	 */
	struct drm_gpusvm_notifier *notifier;
	/**
	 * @refcount: The tree holds one reference until
	 * drm_gpusvm_range_remove(); drm_gpusvm_range_get() takes more.
	 */
	struct kref refcount;
	/** @flags: State of the range (next to @refcount: one word). */
	struct drm_gpusvm_range_flags flags;
	/**
	 * @itree: Node in &drm_gpusvm_notifier.root; @itree.last is
	 * inclusive.
	 */
	struct interval_tree_node itree;
	/** @entry: Entry in &drm_gpusvm_notifier.range_list. */
	struct list_head entry;
	/** @pages: DMA state of the range's pages. */
	struct drm_gpusvm_pages pages;
};

/**
 * struct drm_gpusvm_ctx - Options of one call
 *
 * Zero-initialise and set what applies.
 */
struct drm_gpusvm_ctx {
	/**
	 * @device_private_page_owner: Device-private pages with this owner
	 * are mapped as device pages; any other device-private page is faulted
	 * back to system memory. NULL: system pages only.
	 */
	void *device_private_page_owner;
	/**
	 * @check_pages_threshold: Range chunks of at most this size are only
	 * chosen when all their CPU pages are already present.
	 */
	unsigned long check_pages_threshold;
	/**
	 * @timeslice_ms: Minimum time pages migrated to device memory stay
	 * there before a user-mode CPU fault may move them back (for the
	 * driver's drm_pagemap_migrate_to_devmem(), at most
	 * %DRM_PAGEMAP_TIMESLICE_MAX_MS); other faults do not wait.
	 */
	unsigned long timeslice_ms;
	/**
	 * @in_notifier: Called from the invalidation callback, with the
	 * notifier lock held for write.
	 */
	unsigned int in_notifier : 1;
	/**
	 * @read_only: The device only reads: no write fault is required and
	 * pages are mapped %DMA_TO_DEVICE.
	 */
	unsigned int read_only : 1;
	/** @devmem_possible: The range may use device memory. */
	unsigned int devmem_possible : 1;
	/** @devmem_only: Only device pages are acceptable. */
	unsigned int devmem_only : 1;
	/** @allow_mixed: System and device pages may be mixed in one range. */
	unsigned int allow_mixed : 1;
};

/**
 * enum drm_gpusvm_scan_result - Where the pages of a range are
 *
 * Result of drm_gpusvm_scan_mm(); advisory, it may be stale by the time the
 * caller acts on it.
 *
 * @DRM_GPUSVM_SCAN_UNPOPULATED: Some page is not present (or is a device page
 *	of another owner, which the scan cannot see without faulting).
 * @DRM_GPUSVM_SCAN_EQUAL: Every page is a device page of the given pagemap.
 * @DRM_GPUSVM_SCAN_OTHER: Every page is a device page of one other pagemap.
 * @DRM_GPUSVM_SCAN_SYSTEM: Every page is in system memory.
 * @DRM_GPUSVM_SCAN_MIXED_DEVICE: Device pages of more than one pagemap, no
 *	system page.
 * @DRM_GPUSVM_SCAN_MIXED: System and device pages.
 */
enum drm_gpusvm_scan_result {
	DRM_GPUSVM_SCAN_UNPOPULATED,
	DRM_GPUSVM_SCAN_EQUAL,
	DRM_GPUSVM_SCAN_OTHER,
	DRM_GPUSVM_SCAN_SYSTEM,
	DRM_GPUSVM_SCAN_MIXED_DEVICE,
	DRM_GPUSVM_SCAN_MIXED,
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
	 * order, the last one %PAGE_SIZE.
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

struct drm_gpusvm_range *
drm_gpusvm_range_find_or_insert(struct drm_gpusvm *gpusvm,
				unsigned long fault_addr,
				unsigned long gpuva_start,
				unsigned long gpuva_end,
				const struct drm_gpusvm_ctx *ctx);
void drm_gpusvm_range_remove(struct drm_gpusvm *gpusvm,
			     struct drm_gpusvm_range *range);
struct drm_gpusvm_range *drm_gpusvm_range_get(struct drm_gpusvm_range *range);
void drm_gpusvm_range_put(struct drm_gpusvm_range *range);
struct drm_gpusvm_range *
drm_gpusvm_range_find(struct drm_gpusvm_notifier *notifier,
		      unsigned long start, unsigned long end);
struct drm_gpusvm_notifier *
drm_gpusvm_notifier_find(struct drm_gpusvm *gpusvm, unsigned long start,
			 unsigned long end);
bool drm_gpusvm_has_mapping(struct drm_gpusvm *gpusvm, unsigned long start,
			    unsigned long end);

int drm_gpusvm_range_get_pages(struct drm_gpusvm *gpusvm,
			       struct drm_gpusvm_range *range,
			       const struct drm_gpusvm_ctx *ctx);
void drm_gpusvm_range_unmap_pages(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range,
				  const struct drm_gpusvm_ctx *ctx);
bool drm_gpusvm_range_pages_valid(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range);
void drm_gpusvm_range_set_unmapped(struct drm_gpusvm_range *range,
				   const struct mmu_notifier_range *mmu_range);
int drm_gpusvm_range_evict(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_range *range);
enum drm_gpusvm_scan_result
drm_gpusvm_scan_mm(struct drm_gpusvm_range *range, void *dev_private_owner,
		   const struct drm_pagemap *pagemap);

int drm_gpusvm_get_pages(struct drm_gpusvm *gpusvm,
			 struct drm_gpusvm_pages *svm_pages,
			 struct mm_struct *mm,
			 struct mmu_interval_notifier *notifier,
			 unsigned long pages_start, unsigned long pages_end,
			 const struct drm_gpusvm_ctx *ctx);
void drm_gpusvm_unmap_pages(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_pages *svm_pages,
			    unsigned long npages,
			    const struct drm_gpusvm_ctx *ctx);
void drm_gpusvm_free_pages(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_pages *svm_pages,
			   unsigned long npages);
bool drm_gpusvm_pages_valid(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_pages *svm_pages);

unsigned long drm_gpusvm_find_vma_start(struct drm_gpusvm *gpusvm,
					unsigned long start,
					unsigned long end);

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
 *
 * Context: Any context; @lock need not be held. Does not sleep.
 * Returns: Nothing.
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
 *
 * Context: Process context, the notifier lock not held; may sleep. It comes
 * last in the lock order (after the driver lock, the mmap lock and the page
 * lock), and reclaim may wait for it: allocate no memory that may sleep while
 * holding it.
 * Returns: Nothing.
 */
#define drm_gpusvm_notifier_lock(gpusvm__) down_read(&(gpusvm__)->notifier_lock)

/**
 * drm_gpusvm_notifier_unlock() - Release the notifier lock
 * @gpusvm__: Pointer to the GPU SVM structure.
 *
 * Context: The notifier lock held for read, taken with
 * drm_gpusvm_notifier_lock(); does not sleep.
 * Returns: Nothing.
 */
#define drm_gpusvm_notifier_unlock(gpusvm__) up_read(&(gpusvm__)->notifier_lock)

/**
 * drm_gpusvm_range_start() - Start address of a range
 * @range: Pointer to the GPU SVM range.
 *
 * Context: Any context.
 * Returns: The first address of @range.
 */
static inline unsigned long
drm_gpusvm_range_start(struct drm_gpusvm_range *range)
{
	return range->itree.start;
}

/**
 * drm_gpusvm_range_end() - End address of a range
 * @range: Pointer to the GPU SVM range.
 *
 * Context: Any context.
 * Returns: The address right after @range (exclusive end).
 */
static inline unsigned long
drm_gpusvm_range_end(struct drm_gpusvm_range *range)
{
	return range->itree.last + 1;
}

/**
 * drm_gpusvm_range_size() - Size of a range
 * @range: Pointer to the GPU SVM range.
 *
 * Context: Any context.
 * Returns: The size of @range in bytes.
 */
static inline unsigned long
drm_gpusvm_range_size(struct drm_gpusvm_range *range)
{
	return drm_gpusvm_range_end(range) - drm_gpusvm_range_start(range);
}

/**
 * drm_gpusvm_notifier_start() - Start address of a notifier
 * @notifier: Pointer to the GPU SVM notifier.
 *
 * Context: Any context.
 * Returns: The first address of the window of @notifier.
 */
static inline unsigned long
drm_gpusvm_notifier_start(struct drm_gpusvm_notifier *notifier)
{
	return notifier->itree.start;
}

/**
 * drm_gpusvm_notifier_end() - End address of a notifier
 * @notifier: Pointer to the GPU SVM notifier.
 *
 * Context: Any context.
 * Returns: The address right after the window of @notifier (exclusive end).
 */
static inline unsigned long
drm_gpusvm_notifier_end(struct drm_gpusvm_notifier *notifier)
{
	return notifier->itree.last + 1;
}

/**
 * drm_gpusvm_notifier_size() - Size of a notifier
 * @notifier: Pointer to the GPU SVM notifier.
 *
 * Context: Any context.
 * Returns: The size of the window of @notifier in bytes.
 */
static inline unsigned long
drm_gpusvm_notifier_size(struct drm_gpusvm_notifier *notifier)
{
	return drm_gpusvm_notifier_end(notifier) -
	       drm_gpusvm_notifier_start(notifier);
}

/**
 * __drm_gpusvm_range_next() - Next range of the same notifier
 * @range: Pointer to the current range, or NULL.
 *
 * Ranges never overlap, so the address-ordered list gives the next one.
 *
 * Context: The driver lock held, or the notifier lock from inside the
 * invalidation callback of @range's notifier; does not sleep.
 * Returns: The range after @range, or NULL if @range is NULL or the last.
 */
static inline struct drm_gpusvm_range *
__drm_gpusvm_range_next(struct drm_gpusvm_range *range)
{
	if (range && !list_is_last(&range->entry, &range->notifier->range_list))
		return list_next_entry(range, entry);

	return NULL;
}

/**
 * drm_gpusvm_for_each_range() - Iterate over the ranges of a notifier
 * @range__: Iterator variable (&struct drm_gpusvm_range pointer).
 * @notifier__: Pointer to the GPU SVM notifier.
 * @start__: Start of the span.
 * @end__: Exclusive end of the span.
 *
 * Visits, in address order, every range of @notifier__ that overlaps
 * [@start__, @end__). The driver lock must be held, or the notifier lock from
 * inside @notifier__'s invalidation callback; the body must not remove the
 * current range.
 *
 * Context: The driver lock held, or the notifier lock from inside
 * @notifier__'s invalidation callback; the iteration does not sleep.
 * Returns: Nothing.
 */
#define drm_gpusvm_for_each_range(range__, notifier__, start__, end__)	\
	for ((range__) = drm_gpusvm_range_find((notifier__), (start__),	\
					       (end__));		\
	     (range__) && drm_gpusvm_range_start(range__) < (end__);	\
	     (range__) = __drm_gpusvm_range_next(range__))

/**
 * drm_gpusvm_for_each_range_safe() - Iterate over ranges, removal allowed
 * @range__: Iterator variable (&struct drm_gpusvm_range pointer).
 * @next__: Temporary storage for the next range.
 * @notifier__: Pointer to the GPU SVM notifier.
 * @start__: Start of the span.
 * @end__: Exclusive end of the span.
 *
 * Like drm_gpusvm_for_each_range(), but the body may remove the current
 * range with drm_gpusvm_range_remove(). The next range is looked up before
 * the body runs: if the body removes the notifier's last range, the notifier
 * is freed and the loop ends without touching it again.
 *
 * Context: As drm_gpusvm_for_each_range(). A body that removes ranges needs
 * what drm_gpusvm_range_remove() needs: the driver lock held for write, no
 * mmap lock and no notifier lock held, so never the invalidation callback.
 * The iteration itself does not sleep.
 * Returns: Nothing.
 */
#define drm_gpusvm_for_each_range_safe(range__, next__, notifier__, start__, \
				       end__)				\
	for ((range__) = drm_gpusvm_range_find((notifier__), (start__),	\
					       (end__)),		\
	     (next__) = __drm_gpusvm_range_next(range__);		\
	     (range__) && drm_gpusvm_range_start(range__) < (end__);	\
	     (range__) = (next__), (next__) = __drm_gpusvm_range_next(range__))

/**
 * __drm_gpusvm_notifier_next() - Next notifier of the same instance
 * @notifier: Pointer to the current notifier, or NULL.
 *
 * Context: The driver lock held; does not sleep.
 * Returns: The notifier after @notifier in address order, or NULL if
 * @notifier is NULL or the last.
 */
static inline struct drm_gpusvm_notifier *
__drm_gpusvm_notifier_next(struct drm_gpusvm_notifier *notifier)
{
	if (notifier && !list_is_last(&notifier->entry,
				      &notifier->gpusvm->notifier_list))
		return list_next_entry(notifier, entry);

	return NULL;
}

/**
 * drm_gpusvm_for_each_notifier() - Iterate over the notifiers of an instance
 * @notifier__: Iterator variable (&struct drm_gpusvm_notifier pointer).
 * @gpusvm__: Pointer to the GPU SVM structure.
 * @start__: Start of the span.
 * @end__: Exclusive end of the span.
 *
 * Visits, in address order, every notifier whose window overlaps
 * [@start__, @end__). The driver lock must be held, and the body must not
 * remove the current notifier.
 *
 * Context: The driver lock held for write (asserted by
 * drm_gpusvm_notifier_find()); the iteration does not sleep.
 * Returns: Nothing.
 */
#define drm_gpusvm_for_each_notifier(notifier__, gpusvm__, start__, end__) \
	for ((notifier__) = drm_gpusvm_notifier_find((gpusvm__), (start__), \
						     (end__));		\
	     (notifier__) && drm_gpusvm_notifier_start(notifier__) < (end__); \
	     (notifier__) = __drm_gpusvm_notifier_next(notifier__))

/**
 * drm_gpusvm_for_each_notifier_safe() - Iterate over notifiers, removal allowed
 * @notifier__: Iterator variable (&struct drm_gpusvm_notifier pointer).
 * @next__: Temporary storage for the next notifier.
 * @gpusvm__: Pointer to the GPU SVM structure.
 * @start__: Start of the span.
 * @end__: Exclusive end of the span.
 *
 * Like drm_gpusvm_for_each_notifier(), but the body may remove the ranges of
 * the current notifier, and so the notifier itself.
 *
 * Context: The driver lock held for write (asserted by
 * drm_gpusvm_notifier_find()); a body that removes ranges also needs no mmap
 * lock and no notifier lock held (see drm_gpusvm_range_remove()). The
 * iteration itself does not sleep.
 * Returns: Nothing.
 */
#define drm_gpusvm_for_each_notifier_safe(notifier__, next__, gpusvm__,	\
					  start__, end__)		\
	for ((notifier__) = drm_gpusvm_notifier_find((gpusvm__), (start__), \
						     (end__)),		\
	     (next__) = __drm_gpusvm_notifier_next(notifier__);		\
	     (notifier__) && drm_gpusvm_notifier_start(notifier__) < (end__); \
	     (notifier__) = (next__),					\
	     (next__) = __drm_gpusvm_notifier_next(notifier__))

#endif /* __DRM_GPUSVM_H__ */
