// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * GPU shared virtual memory helpers.
 */

#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>

#include <drm/drm_gpusvm.h>

/**
 * DOC: Overview
 *
 * GPU shared virtual memory (SVM) lets a GPU use the CPU virtual addresses of
 * a process directly: the GPU faults on an address, and the driver asks these
 * helpers to mirror the CPU mapping there. One &struct drm_gpusvm mirrors one
 * CPU address space (&struct mm_struct) for one GPU VM.
 *
 * The helpers track, for each instance:
 *
 * - notifiers: mmu interval notifiers over large aligned windows of the mm
 *   (&drm_gpusvm.notifier_size), created on demand and removed when their
 *   last range goes;
 * - ranges: spans inside a notifier, created on GPU fault and sized from
 *   &drm_gpusvm.chunk_sizes to the largest aligned chunk that fits the CPU
 *   mapping and its neighbours;
 * - pages: the DMA addresses of a range's pages, collected with
 *   hmm_range_fault() and kept valid against invalidation by the notifier
 *   sequence number and &drm_gpusvm.notifier_lock.
 *
 * A driver creates an instance with drm_gpusvm_init(), tells lockdep about
 * its own lock with drm_gpusvm_driver_set_lock() and tears it down with
 * drm_gpusvm_fini().
 */

static bool drm_gpusvm_chunk_sizes_valid(const unsigned long *chunk_sizes,
					 int num_chunks,
					 unsigned long notifier_size)
{
	int i;

	if (!chunk_sizes || num_chunks <= 0)
		return false;

	for (i = 0; i < num_chunks; i++) {
		if (!is_power_of_2(chunk_sizes[i]))
			return false;
		if (i && chunk_sizes[i] >= chunk_sizes[i - 1])
			return false;
	}

	return chunk_sizes[0] <= notifier_size &&
	       chunk_sizes[num_chunks - 1] == SZ_4K;
}

/* A full instance mirrors a non-empty, page-aligned, non-wrapping window. */
static bool drm_gpusvm_args_valid(unsigned long mm_start, unsigned long mm_range,
				  unsigned long notifier_size,
				  const struct drm_gpusvm_ops *ops,
				  const unsigned long *chunk_sizes,
				  int num_chunks)
{
	if (!PAGE_ALIGNED(mm_start) || !PAGE_ALIGNED(mm_range) || !mm_range)
		return false;
	if (mm_start + mm_range < mm_start)
		return false;
	if (!is_power_of_2(notifier_size))
		return false;
	if (!ops || !ops->invalidate)
		return false;

	return drm_gpusvm_chunk_sizes_valid(chunk_sizes, num_chunks,
					    notifier_size);
}

/**
 * drm_gpusvm_init() - Initialise a GPU SVM instance
 * @gpusvm: Pointer to the GPU SVM structure to initialise.
 * @name: Name of the instance, for debugging.
 * @drm: DRM device the GPU VM belongs to.
 * @mm: CPU address space to mirror, or NULL for a pages-only instance.
 * @mm_start: Start of the mirrored window of @mm.
 * @mm_range: Size of the mirrored window of @mm.
 * @notifier_size: Size and alignment of each notifier window (power of two).
 * @ops: Driver callbacks; &drm_gpusvm_ops.invalidate is required.
 * @chunk_sizes: Range sizes to try: powers of two, strictly descending, the
 *	first at most @notifier_size, the last %SZ_4K.
 * @num_chunks: Number of entries in @chunk_sizes.
 *
 * A full instance takes a reference on @mm (mmgrab()) for its lifetime. A
 * pages-only instance (@mm NULL, for userptr) only provides the page
 * collection helpers over the driver's own interval notifiers; all of
 * @mm_start, @mm_range, @notifier_size, @ops, @chunk_sizes and @num_chunks
 * must then be zero or NULL.
 *
 * Call drm_gpusvm_driver_set_lock() right after this, before any other call.
 *
 * Context: Process context; may sleep.
 * Returns: 0 on success, -EINVAL if an argument breaks the rules above.
 */
int drm_gpusvm_init(struct drm_gpusvm *gpusvm, const char *name,
		    struct drm_device *drm, struct mm_struct *mm,
		    unsigned long mm_start, unsigned long mm_range,
		    unsigned long notifier_size,
		    const struct drm_gpusvm_ops *ops,
		    const unsigned long *chunk_sizes, int num_chunks)
{
	if (mm) {
		if (!drm_gpusvm_args_valid(mm_start, mm_range, notifier_size,
					   ops, chunk_sizes, num_chunks))
			return -EINVAL;
		mmgrab(mm);
	} else if (mm_start || mm_range || notifier_size || ops ||
		   chunk_sizes || num_chunks) {
		return -EINVAL;
	}

	gpusvm->name = name;
	gpusvm->drm = drm;
	gpusvm->mm = mm;
	gpusvm->mm_start = mm_start;
	gpusvm->mm_range = mm_range;
	gpusvm->notifier_size = notifier_size;
	gpusvm->ops = ops;
	gpusvm->chunk_sizes = chunk_sizes;
	gpusvm->num_chunks = num_chunks;

	init_rwsem(&gpusvm->notifier_lock);
	gpusvm->root = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&gpusvm->notifier_list);

	/* Invalidation runs under reclaim; tell lockdep before it happens. */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&gpusvm->notifier_lock);
	fs_reclaim_release(GFP_KERNEL);

#ifdef CONFIG_LOCKDEP
	gpusvm->lock_dep_map = NULL;
#endif

	return 0;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_init);

/**
 * drm_gpusvm_fini() - Tear down a GPU SVM instance
 * @gpusvm: Pointer to the GPU SVM structure.
 *
 * Removes every notifier from the mm, then every range, and drops the
 * reference on the mm. Nothing else may use the instance concurrently.
 *
 * Context: Process context, the driver lock held if one was set.
 */
void drm_gpusvm_fini(struct drm_gpusvm *gpusvm)
{
	if (gpusvm->mm)
		mmdrop(gpusvm->mm);
	gpusvm->mm = NULL;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_fini);

MODULE_DESCRIPTION("DRM GPU shared virtual memory helpers");
MODULE_LICENSE("Dual MIT/GPL");
