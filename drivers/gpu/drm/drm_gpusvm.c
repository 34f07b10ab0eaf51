// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * GPU shared virtual memory helpers.
 */

#include <kunit/static_stub.h>

#include <linux/dma-mapping.h>
#include <linux/fault-inject.h>
#include <linux/hmm.h>
#include <linux/hugetlb_inline.h>
#include <linux/interval_tree.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/memremap.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include <drm/drm_device.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

#include "drm_gpusvm_inject.h"

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

/**
 * DOC: Locking
 *
 * Locks are taken in this order, never the other way round:
 *
 * 1. The driver lock (annotated with drm_gpusvm_driver_set_lock(); lockdep
 *    asserts it held for write where required). It serialises
 *    drm_gpusvm_range_find_or_insert(), drm_gpusvm_range_remove(),
 *    drm_gpusvm_range_get_pages(), drm_gpusvm_range_evict(),
 *    drm_gpusvm_scan_mm(), drm_gpusvm_notifier_find(),
 *    drm_gpusvm_has_mapping() and drm_gpusvm_fini(), so every change of the
 *    notifier tree, and every GPU page-table commit of the instance. A range's
 *    notifier is freed when the driver removes its last range: only the
 *    driver lock keeps it alive for the helpers that use it.
 * 2. The mmap lock, taken for read by the helpers around core mm calls
 *    (vma_lookup(), hmm_range_fault(), migrate_vma_setup()) only. It is never
 *    held across mmu_interval_notifier_insert() or
 *    mmu_interval_notifier_remove(): the first takes it for write on the
 *    first notifier of an mm, the second waits for invalidations to finish.
 * 3. The page lock: a CPU fault on a device page holds it while it runs
 *    &dev_pagemap_ops.migrate_to_ram (do_swap_page()), migrate_vma_setup()
 *    and migrate_device_range() lock the pages they migrate (with a
 *    trylock: a page locked elsewhere is skipped), and the device memory
 *    callbacks (&drm_pagemap_devmem_ops) run with them locked.
 * 4. The CPU-fault bit of a device memory allocation, taken by a CPU fault
 *    that holds its page locked: one fault at a time migrates the
 *    allocation back, and the others wait for it, with the fault lock
 *    dropped when the fault may be retried, else under the mmap lock
 *    (lockdep knows the bit as ``drm_pagemap_fault``). Its holder only
 *    trylocks other pages, so the page locks of the waiters never block it.
 * 5. &drm_gpusvm.notifier_lock, held for write by the invalidation callback
 *    only, which the core mm calls under all of the above (migrations
 *    invalidate with their pages locked) and from reclaim. It is held for
 *    read while pages are DMA-mapped, while ranges are inserted in or removed
 *    from a notifier, and by the driver while it commits GPU page-table
 *    entries. Since reclaim may wait for it, nothing allocates memory that may
 *    sleep while holding it.
 *
 * Hence what a callback may not take: &drm_gpusvm_ops.invalidate runs under
 * the notifier lock held for write and must not take the driver lock nor
 * allocate memory that may sleep; the device memory callbacks
 * (&drm_pagemap_devmem_ops) run with the pages they migrate locked, possibly
 * from another GPU VM's or another device's fault (the library's
 * &dev_pagemap_ops.migrate_to_ram calls them from the CPU fault path, under
 * the mmap lock), and must not take any GPU SVM driver lock: a driver that
 * holds its lock while it migrates or evicts would deadlock against them.
 *
 * What each lock protects: the driver lock the notifier tree and list of the
 * instance, each notifier's range tree and list (changed under the notifier
 * lock held for read as well, so the invalidation callback may walk them),
 * and the GPU page tables; the notifier lock the pages state of every range
 * (&drm_gpusvm_pages) against invalidation. Walking a notifier's ranges
 * therefore needs the driver lock, or the notifier lock from inside the
 * invalidation callback of that very notifier (which keeps it alive).
 *
 * A range's pages are current while drm_gpusvm_range_pages_valid() is true
 * under the notifier lock: drm_gpusvm_range_get_pages() maps them only after
 * mmu_interval_read_retry() confirmed that no invalidation ran since
 * hmm_range_fault(), and every later invalidation unmaps them (the driver
 * calls drm_gpusvm_range_unmap_pages() from its callback) before it returns.
 * No helper ever releases a mapping the GPU may still use: DMA and device
 * mappings go only after the driver zapped the PTEs made from them, in its
 * invalidation callback or before it calls drm_gpusvm_range_unmap_pages(),
 * drm_gpusvm_range_remove(), drm_gpusvm_free_pages() or drm_gpusvm_fini().
 */

/**
 * DOC: Driver fault handler
 *
 * A GPU fault handler is one bounded retry loop under the driver lock. Ranges
 * whose CPU mapping went away are flagged by the driver's invalidation
 * callback and removed by its garbage collector first, so that a new range
 * can take their place. Access follows the CPU VMA: taking
 * &drm_gpusvm_ctx.read_only from %VM_WRITE means that a current mapping
 * always serves the fault, and -EEXIST (a mapping made for other access) only
 * happens if the driver asks differently; it is handled anyway, by zapping and
 * unmapping the range before going round again::
 *
 *	int driver_svm_handle_fault(struct driver_vm *vm,
 *				    unsigned long fault_addr, bool write)
 *	{
 *		struct drm_gpusvm_ctx ctx = {
 *			.check_pages_threshold = SZ_64K,
 *			.device_private_page_owner = vm->owner,
 *			.devmem_possible = true,
 *		};
 *		struct drm_gpusvm_range *range;
 *		int retries = 3;
 *		int err;
 *
 *		err = driver_vma_read_only(vm, fault_addr);  // !VM_WRITE
 *		if (err < 0)
 *			return err;			// -ENOENT: no VMA
 *		ctx.read_only = err;
 *		if (write && ctx.read_only)
 *			return -EPERM;
 *
 *		mutex_lock(&vm->lock);		// the driver lock
 *	retry:
 *		// zap, then drm_gpusvm_range_remove() every range flagged unmapped
 *		driver_garbage_collect(vm);
 *
 *		range = drm_gpusvm_range_find_or_insert(&vm->svm, fault_addr,
 *							vm->va_start, vm->va_end,
 *							&ctx);
 *		if (IS_ERR(range)) {
 *			err = PTR_ERR(range);
 *			goto unlock;
 *		}
 *
 *		if (range->flags.migrate_devmem)
 *			driver_migrate_to_vram(vm, range);	// advice only
 *
 *		err = drm_gpusvm_range_get_pages(&vm->svm, range, &ctx);
 *		if (err == -EEXIST) {
 *			// mapped for another access: zap before it goes
 *			driver_zap_range(vm, range);
 *			drm_gpusvm_range_unmap_pages(&vm->svm, range, &ctx);
 *			goto again;
 *		}
 *		if (err == -EPERM) {
 *			// the VMA at fault_addr allows the access, so the
 *			// range spans memory that no longer does (part of it
 *			// was mprotect()ed): replace it with one that fits
 *			driver_zap_range(vm, range);
 *			drm_gpusvm_range_unmap_pages(&vm->svm, range, &ctx);
 *			drm_gpusvm_range_remove(&vm->svm, range);
 *			err = -EAGAIN;
 *			goto again;
 *		}
 *		if (err == -EOPNOTSUPP) {
 *			// pages the GPU cannot map together
 *			err = drm_gpusvm_range_evict(&vm->svm, range);
 *			if (err)
 *				goto unlock;
 *			err = -EAGAIN;		// nothing mapped yet
 *			goto again;
 *		}
 *		if (err == -EFAULT || err == -EBUSY)
 *			goto again;	// unmapped meanwhile, or contended
 *		if (err)
 *			goto unlock;
 *
 *		drm_gpusvm_notifier_lock(&vm->svm);
 *		if (drm_gpusvm_range_pages_valid(&vm->svm, range))
 *			driver_commit_ptes(vm, range);	// from range->pages.dma_addr
 *		else
 *			err = -EAGAIN;			// invalidated meanwhile
 *		drm_gpusvm_notifier_unlock(&vm->svm);
 *		if (!err)
 *			goto unlock;
 *	again:
 *		if (--retries)
 *			goto retry;
 *	unlock:
 *		mutex_unlock(&vm->lock);
 *		return err;
 *	}
 *
 * The PTEs take their access from each &drm_pagemap_addr.dir, so that a
 * %DMA_TO_DEVICE entry is never written by the GPU. The invalidation callback
 * zaps every range that overlaps the span over the whole range, since
 * unmapping drops the whole range's mappings, and unmaps under the notifier
 * lock::
 *
 *	void driver_svm_invalidate(struct drm_gpusvm *svm,
 *				   struct drm_gpusvm_notifier *notifier,
 *				   const struct mmu_notifier_range *mmu_range)
 *	{
 *		struct drm_gpusvm_ctx ctx = { .in_notifier = true, };
 *		struct drm_gpusvm_range *range;
 *
 *		drm_gpusvm_for_each_range(range, notifier, mmu_range->start,
 *					  mmu_range->end) {
 *			driver_zap_ptes(svm, drm_gpusvm_range_start(range),
 *					drm_gpusvm_range_end(range));
 *			drm_gpusvm_range_unmap_pages(svm, range, &ctx);
 *			if (mmu_range->event == MMU_NOTIFY_UNMAP) {
 *				drm_gpusvm_range_set_unmapped(range, mmu_range);
 *				driver_queue_garbage_collect(svm, range);
 *			}
 *		}
 *	}
 *
 * A range stays in its notifier's tree until drm_gpusvm_range_remove(), so a
 * second %MMU_NOTIFY_UNMAP may find it while the garbage collector, which
 * runs without the notifier lock, is about to remove it. The collector takes
 * a range off its list and marks it taken under the list's lock, and the
 * callback queues only ranges not taken: removing a range twice is a caller
 * bug (a warning).
 */

/**
 * DOC: Fault injection
 *
 * With %CONFIG_DRM_GPUSVM_FAULT_INJECTION, every operation of the helpers that
 * can fail on its own counts as a fault-injection site of the task's fail-nth
 * counter (``/proc/<pid>/fail-nth``, ``current->fail_nth`` in a kernel test):
 * setting it to N fails the N-th site the task reaches from then on, as it
 * does for failslab and fail_page_alloc. The sites are, in drm_gpusvm, the
 * default allocation of a notifier and of a range (without
 * &drm_gpusvm_ops.notifier_alloc or &drm_gpusvm_ops.range_alloc),
 * mmu_interval_notifier_insert(), every array of pfns or DMA addresses, and
 * every DMA or device map of a chunk; in drm_pagemap, every array and record
 * of a migration, every system page allocated to migrate back to (except in
 * drm_pagemap_evict_to_ram_nofail(), which cannot fail) and every DMA map of
 * a copy. A failed allocation or map fails as the real one would, with
 * -ENOMEM, and each call unwinds what it did: the error codes are those the
 * kernel-doc of each function lists. Without the option the sites compile
 * away.
 *
 * fail-nth counts every fault-injection site the task reaches: with
 * failslab and fail_page_alloc built in, the kernel's own allocations on the
 * same paths too, which is what a walk from userspace wants. A KUnit test
 * that must count and fail the helpers' sites only redirects the one
 * function they all go through, drm_gpusvm_should_fail(), to a counter of
 * its own with kunit_activate_static_stub().
 */
#ifdef CONFIG_DRM_GPUSVM_FAULT_INJECTION
/* The one fault attribute of every site of the helpers. */
static DECLARE_FAULT_ATTR(drm_gpusvm_fail_attr);

/*
 * One fault-injection site: true if the task's fail-nth counter says so.
 * KUnit suites replace it with a stub of their own, which counts and fails
 * the helpers' sites only.
 */
bool drm_gpusvm_should_fail(size_t size)
{
	KUNIT_STATIC_STUB_REDIRECT(drm_gpusvm_should_fail, size);
	return should_fail(&drm_gpusvm_fail_attr, size);
}
#endif

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
	       chunk_sizes[num_chunks - 1] == PAGE_SIZE;
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
 *	first at most @notifier_size, the last %PAGE_SIZE.
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

#ifdef CONFIG_LOCKDEP
/*
 * The contract requires the driver lock, held for write, wherever a range's
 * notifier is used: a garbage collector on another thread frees the notifier
 * with its last range. Lockdep checks it once the lock is known.
 */
static void drm_gpusvm_driver_lock_held(struct drm_gpusvm *gpusvm)
{
	if (gpusvm->lock_dep_map)
		lockdep_assert(lock_is_held_type(gpusvm->lock_dep_map, 0));
}
#else
static void drm_gpusvm_driver_lock_held(struct drm_gpusvm *gpusvm)
{
}
#endif

static unsigned long drm_gpusvm_npages(unsigned long start, unsigned long end)
{
	return (end - start) >> PAGE_SHIFT;
}

/**
 * drm_gpusvm_notifier_find() - Find the first notifier overlapping a span
 * @gpusvm: Pointer to the GPU SVM structure.
 * @start: Start of the span.
 * @end: Exclusive end of the span.
 *
 * Context: The driver lock held for write (asserted); does not sleep.
 * Returns: The notifier with the lowest address whose window overlaps
 * [@start, @end), or NULL.
 */
struct drm_gpusvm_notifier *
drm_gpusvm_notifier_find(struct drm_gpusvm *gpusvm, unsigned long start,
			 unsigned long end)
{
	struct interval_tree_node *itree;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (start >= end)
		return NULL;

	itree = interval_tree_iter_first(&gpusvm->root, start, end - 1);
	if (!itree)
		return NULL;

	return container_of(itree, struct drm_gpusvm_notifier, itree);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_notifier_find);

/**
 * drm_gpusvm_range_find() - Find the first range overlapping a span
 * @notifier: Pointer to the GPU SVM notifier.
 * @start: Start of the span.
 * @end: Exclusive end of the span.
 *
 * Context: The driver lock held (it keeps @notifier alive), or the notifier
 * lock from inside @notifier's own invalidation callback; does not sleep.
 * Returns: The range of @notifier with the lowest address that overlaps
 * [@start, @end), or NULL.
 */
struct drm_gpusvm_range *
drm_gpusvm_range_find(struct drm_gpusvm_notifier *notifier,
		      unsigned long start, unsigned long end)
{
	struct interval_tree_node *itree;

	if (start >= end)
		return NULL;

	itree = interval_tree_iter_first(&notifier->root, start, end - 1);
	if (!itree)
		return NULL;

	return container_of(itree, struct drm_gpusvm_range, itree);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_find);

/**
 * drm_gpusvm_has_mapping() - Whether any range overlaps a span
 * @gpusvm: Pointer to the GPU SVM structure.
 * @start: Start of the span.
 * @end: Exclusive end of the span.
 *
 * Context: The driver lock held for write (asserted); does not sleep.
 * Returns: True if a range of @gpusvm overlaps [@start, @end), false
 * otherwise.
 */
bool drm_gpusvm_has_mapping(struct drm_gpusvm *gpusvm, unsigned long start,
			    unsigned long end)
{
	struct drm_gpusvm_notifier *notifier;

	drm_gpusvm_driver_lock_held(gpusvm);

	drm_gpusvm_for_each_notifier(notifier, gpusvm, start, end) {
		if (drm_gpusvm_range_find(notifier, start, end))
			return true;
	}

	return false;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_has_mapping);

/*
 * Runs for every invalidation of the notifier's window, possibly under the
 * mmap lock and from reclaim. Holding the notifier lock for write while the
 * driver unmaps is what makes a range's pages stay valid under the read lock.
 */
static bool
drm_gpusvm_notifier_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *mmu_range,
			       unsigned long cur_seq)
{
	struct drm_gpusvm_notifier *notifier =
		container_of(mni, struct drm_gpusvm_notifier, notifier);
	struct drm_gpusvm *gpusvm = notifier->gpusvm;

	if (!mmu_notifier_range_blockable(mmu_range))
		return false;

	down_write(&gpusvm->notifier_lock);
	mmu_interval_set_seq(mni, cur_seq);
	gpusvm->ops->invalidate(gpusvm, notifier, mmu_range);
	up_write(&gpusvm->notifier_lock);

	return true;
}

static const struct mmu_interval_notifier_ops drm_gpusvm_notifier_ops = {
	.invalidate = drm_gpusvm_notifier_invalidate,
};

/* Allocate the notifier of the notifier_size aligned window of @addr. */
static struct drm_gpusvm_notifier *
drm_gpusvm_notifier_alloc(struct drm_gpusvm *gpusvm, unsigned long addr)
{
	struct drm_gpusvm_notifier *notifier;

	if (gpusvm->ops->notifier_alloc)
		notifier = gpusvm->ops->notifier_alloc();
	else if (drm_gpusvm_should_fail(sizeof(*notifier)))
		notifier = NULL;
	else
		notifier = kzalloc(sizeof(*notifier), GFP_KERNEL);
	/* NULL on failure; an ERR_PTR() is a driver bug, and a failure too. */
	if (WARN_ON_ONCE(IS_ERR(notifier)) || !notifier)
		return NULL;

	notifier->gpusvm = gpusvm;
	notifier->itree.start = ALIGN_DOWN(addr, gpusvm->notifier_size);
	notifier->itree.last = notifier->itree.start + gpusvm->notifier_size - 1;
	RB_CLEAR_NODE(&notifier->itree.rb);
	INIT_LIST_HEAD(&notifier->entry);
	notifier->root = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&notifier->range_list);
	notifier->flags.removed = false;

	return notifier;
}

static void drm_gpusvm_notifier_free(struct drm_gpusvm *gpusvm,
				     struct drm_gpusvm_notifier *notifier)
{
	WARN_ON(!RB_EMPTY_ROOT(&notifier->root.rb_root));

	if (gpusvm->ops->notifier_free)
		gpusvm->ops->notifier_free(notifier);
	else
		kfree(notifier);
}

/* Insert in the tree and, after its predecessor, in the ordered list. */
static void drm_gpusvm_notifier_insert(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_notifier *notifier)
{
	struct rb_node *prev;
	struct list_head *head;

	interval_tree_insert(&notifier->itree, &gpusvm->root);

	prev = rb_prev(&notifier->itree.rb);
	if (prev)
		head = &container_of(prev, struct drm_gpusvm_notifier,
				     itree.rb)->entry;
	else
		head = &gpusvm->notifier_list;
	list_add(&notifier->entry, head);
}

static void drm_gpusvm_notifier_remove(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_notifier *notifier)
{
	interval_tree_remove(&notifier->itree, &gpusvm->root);
	RB_CLEAR_NODE(&notifier->itree.rb);
	list_del_init(&notifier->entry);
}

static struct drm_gpusvm_range *
drm_gpusvm_range_alloc(struct drm_gpusvm *gpusvm,
		       struct drm_gpusvm_notifier *notifier,
		       unsigned long start, unsigned long size,
		       bool migrate_devmem)
{
	struct drm_gpusvm_range *range;

	if (gpusvm->ops->range_alloc)
		range = gpusvm->ops->range_alloc(gpusvm);
	else if (drm_gpusvm_should_fail(sizeof(*range)))
		range = NULL;
	else
		range = kzalloc(sizeof(*range), GFP_KERNEL);
	/* NULL on failure; an ERR_PTR() is a driver bug, and a failure too. */
	if (WARN_ON_ONCE(IS_ERR(range)) || !range)
		return NULL;

	range->gpusvm = gpusvm;
	range->notifier = notifier;
	kref_init(&range->refcount);
	range->itree.start = start;
	range->itree.last = start + size - 1;
	RB_CLEAR_NODE(&range->itree.rb);
	INIT_LIST_HEAD(&range->entry);
	range->pages.dma_addr = NULL;
	range->pages.dpagemap = NULL;
	range->pages.owner = NULL;
	range->pages.notifier_seq = 0;
	range->pages.flags.__flags = 0;
	range->flags.__flags = 0;
	range->flags.migrate_devmem = migrate_devmem;

	return range;
}

/*
 * The invalidation callback walks the notifier's ranges with the notifier
 * lock held for write: change the tree and the list under the read side.
 */
static void drm_gpusvm_range_insert(struct drm_gpusvm_notifier *notifier,
				    struct drm_gpusvm_range *range)
{
	struct rb_node *prev;
	struct list_head *head;

	down_read(&notifier->gpusvm->notifier_lock);
	interval_tree_insert(&range->itree, &notifier->root);

	prev = rb_prev(&range->itree.rb);
	if (prev)
		head = &container_of(prev, struct drm_gpusvm_range,
				     itree.rb)->entry;
	else
		head = &notifier->range_list;
	list_add(&range->entry, head);
	up_read(&notifier->gpusvm->notifier_lock);
}

/*
 * The arrays of a span: a userptr span comes from user space, and its size is
 * unbounded. A span too large for one allocation fails with -ENOMEM, without
 * the allocator's warning about absurd sizes.
 */
static void *drm_gpusvm_kvmalloc_array(size_t n, size_t size)
{
	if (drm_gpusvm_should_fail(n * size))
		return NULL;

	return kvmalloc_array(n, size, GFP_KERNEL | __GFP_NOWARN);
}

/*
 * The deadline of one hmm_range_fault() retry loop: invalidations that keep
 * racing with it end it with -EBUSY.
 */
static unsigned long drm_gpusvm_hmm_deadline(void)
{
	return jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
}

/*
 * The fault half of the mmu_interval_read_begin() -> hmm_range_fault() ->
 * mmu_interval_read_retry() loop, with one policy for every caller: begin,
 * walk under the mmap lock and go round while an invalidation races with the
 * walk, until @deadline. A caller that already holds the mmap lock says so
 * with @mmap_locked; the others take it around each walk and yield between
 * walks, holding no page, so that a CPU faulter we raced with gets through
 * (our own migrations back from device memory invalidate too).
 */
static int drm_gpusvm_hmm_range_fault(struct mm_struct *mm,
				      struct hmm_range *hmm_range,
				      unsigned long deadline, bool mmap_locked)
{
	int err;

	for (;;) {
		hmm_range->notifier_seq =
			mmu_interval_read_begin(hmm_range->notifier);
		if (!mmap_locked)
			mmap_read_lock(mm);
		err = hmm_range_fault(hmm_range);
		if (!mmap_locked)
			mmap_read_unlock(mm);
		if (err != -EBUSY || time_after(jiffies, deadline))
			return err;
		if (!mmap_locked)
			cond_resched();
	}
}

/*
 * Whether every CPU page of [@start, @end) is present, without faulting any
 * in, so that a large range is only created over memory the CPU already
 * uses. Any failure, including running out of time, just means "no".
 */
static bool drm_gpusvm_check_pages(struct drm_gpusvm *gpusvm,
				   struct drm_gpusvm_notifier *notifier,
				   unsigned long start, unsigned long end,
				   const struct drm_gpusvm_ctx *ctx)
{
	unsigned long npages = drm_gpusvm_npages(start, end);
	struct hmm_range hmm_range = {
		.notifier = &notifier->notifier,
		.start = start,
		.end = end,
		.dev_private_owner = ctx->device_private_page_owner,
	};
	unsigned long *pfns;
	unsigned long i;
	int err;

	mmap_assert_locked(gpusvm->mm);

	pfns = drm_gpusvm_kvmalloc_array(npages, sizeof(*pfns));
	if (!pfns)
		return false;
	hmm_range.hmm_pfns = pfns;

	err = drm_gpusvm_hmm_range_fault(gpusvm->mm, &hmm_range,
					 drm_gpusvm_hmm_deadline(), true);
	for (i = 0; !err && i < npages; i++) {
		if (!(pfns[i] & HMM_PFN_VALID))
			err = -EFAULT;
	}

	kvfree(pfns);
	return !err;
}

/*
 * The size of the range to create around @fault_addr: the largest chunk whose
 * aligned window contains it and lies inside the VMA, the notifier, the GPU VA
 * window and the mirrored window, and overlaps no range. Compare inclusive
 * last addresses: an exclusive end may wrap at the top of the address space.
 * Returns 0 if not even the smallest chunk fits.
 */
static unsigned long
drm_gpusvm_range_chunk_size(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_notifier *notifier,
			    struct vm_area_struct *vma,
			    unsigned long fault_addr,
			    unsigned long gpuva_start,
			    unsigned long gpuva_end,
			    const struct drm_gpusvm_ctx *ctx)
{
	unsigned long mm_last = gpusvm->mm_start + gpusvm->mm_range - 1;
	int i;

	for (i = 0; i < gpusvm->num_chunks; i++) {
		unsigned long size = gpusvm->chunk_sizes[i];
		unsigned long start = ALIGN_DOWN(fault_addr, size);
		unsigned long last = start + size - 1;

		if (start < vma->vm_start || last > vma->vm_end - 1 ||
		    start < notifier->itree.start ||
		    last > notifier->itree.last ||
		    start < gpuva_start || last > gpuva_end - 1 ||
		    start < gpusvm->mm_start || last > mm_last)
			continue;

		/* The page of @fault_addr is free, else we'd have found it. */
		if (i == gpusvm->num_chunks - 1)
			return size;

		if (drm_gpusvm_range_find(notifier, start, last + 1))
			continue;

		if (size <= ctx->check_pages_threshold &&
		    !drm_gpusvm_check_pages(gpusvm, notifier, start, last + 1,
					    ctx))
			continue;

		return size;
	}

	return 0;
}

/*
 * Whether @range holds a mapping for @ctx's access that no invalidation took
 * away. Its VMA then still exists and allows that access: the mapping was made
 * of pages hmm_range_fault() got for it, and unmapping, mprotect() and the
 * exit of the mm all invalidate a span with pages present first, which drops
 * the mapping (the invalidation callback must). So the checks a lookup makes
 * under the mmap lock would pass. Lockless (the driver lock keeps the range
 * and its DMA array): an invalidation racing with this one is one that ran
 * right after the lookup, which get_pages and the pages-valid check see.
 */
static bool drm_gpusvm_range_mapping_current(struct drm_gpusvm_range *range,
					     const struct drm_gpusvm_ctx *ctx)
{
	struct drm_gpusvm_pages_flags flags = {
		.__flags = READ_ONCE(range->pages.flags.__flags),
	};

	if (!flags.has_dma_mapping || flags.unmapped)
		return false;

	return ctx->read_only ||
	       range->pages.dma_addr[0].dir == DMA_BIDIRECTIONAL;
}

/*
 * drm_gpusvm_range_find_or_insert() for a range that has no current mapping
 * (@range, checked against its VMA) or none at all (made, with @notifier if
 * NULL): out of line, so that a lookup that finds a current mapping returns
 * without saving the registers this part needs.
 */
static noinline struct drm_gpusvm_range *
drm_gpusvm_range_check_or_insert(struct drm_gpusvm *gpusvm,
				 struct drm_gpusvm_notifier *notifier,
				 struct drm_gpusvm_range *range,
				 unsigned long fault_addr,
				 unsigned long gpuva_start,
				 unsigned long gpuva_end,
				 const struct drm_gpusvm_ctx *ctx)
{
	struct mm_struct *mm = gpusvm->mm;
	struct vm_area_struct *vma;
	bool new_notifier = false;
	unsigned long chunk_size;
	bool migrate_devmem;
	int err;

	if (!mmget_not_zero(mm))
		return ERR_PTR(-EFAULT);

	if (!notifier) {
		notifier = drm_gpusvm_notifier_alloc(gpusvm, fault_addr);
		if (!notifier) {
			err = -ENOMEM;
			goto err_mmput;
		}

		/* Takes the mmap lock for write on the mm's first notifier. */
		if (drm_gpusvm_should_fail(sizeof(notifier->notifier)))
			err = -ENOMEM;
		else
			err = mmu_interval_notifier_insert(&notifier->notifier,
							   mm,
							   drm_gpusvm_notifier_start(notifier),
							   drm_gpusvm_notifier_size(notifier),
							   &drm_gpusvm_notifier_ops);
		if (err)
			goto err_notifier_free;
		new_notifier = true;
	}

	/*
	 * Hold the mmap lock until the range is in the tree, so that an unmap
	 * of the VMA either happens before the lookup or finds the range.
	 */
	mmap_read_lock(mm);

	vma = vma_lookup(mm, fault_addr);
	if (!vma) {
		err = -ENOENT;
		goto err_mmap_unlock;
	}

	if (vma->vm_flags & (VM_PFNMAP | VM_IO | VM_MIXEDMAP)) {
		err = -EOPNOTSUPP;
		goto err_mmap_unlock;
	}

	/* hmm_range_fault() needs VM_READ, even for a device write. */
	if (!(vma->vm_flags & VM_READ) ||
	    (!ctx->read_only && !(vma->vm_flags & VM_WRITE))) {
		err = -EPERM;
		goto err_mmap_unlock;
	}

	if (range)
		goto out_mmap_unlock;

	chunk_size = drm_gpusvm_range_chunk_size(gpusvm, notifier, vma,
						 fault_addr, gpuva_start,
						 gpuva_end, ctx);
	if (!chunk_size) {
		err = -EINVAL;
		goto err_mmap_unlock;
	}

	/*
	 * migrate_vma_*() only moves anonymous pages: those of private
	 * mappings, including the copied-on-write pages of a private file
	 * mapping once it has any (its anon_vma).
	 */
	migrate_devmem = ctx->devmem_possible &&
			 (vma_is_anonymous(vma) || vma->anon_vma) &&
			 !(vma->vm_flags & VM_SHARED) &&
			 !is_vm_hugetlb_page(vma);

	range = drm_gpusvm_range_alloc(gpusvm, notifier,
				       ALIGN_DOWN(fault_addr, chunk_size),
				       chunk_size, migrate_devmem);
	if (!range) {
		err = -ENOMEM;
		goto err_mmap_unlock;
	}

	drm_gpusvm_range_insert(notifier, range);
	if (new_notifier)
		drm_gpusvm_notifier_insert(gpusvm, notifier);

out_mmap_unlock:
	mmap_read_unlock(mm);
	mmput(mm);

	return range;

err_mmap_unlock:
	mmap_read_unlock(mm);
	if (!new_notifier)
		goto err_mmput;
	mmu_interval_notifier_remove(&notifier->notifier);
err_notifier_free:
	drm_gpusvm_notifier_free(gpusvm, notifier);
err_mmput:
	mmput(mm);

	return ERR_PTR(err);
}

/**
 * drm_gpusvm_range_find_or_insert() - Find or create the range of a GPU fault
 * @gpusvm: Pointer to the GPU SVM structure.
 * @fault_addr: CPU address the GPU faulted on.
 * @gpuva_start: Start of the GPU VA window the range must stay in.
 * @gpuva_end: Exclusive end of that window.
 * @ctx: Options: &drm_gpusvm_ctx.read_only (no write access wanted),
 *	&drm_gpusvm_ctx.check_pages_threshold,
 *	&drm_gpusvm_ctx.device_private_page_owner and
 *	&drm_gpusvm_ctx.devmem_possible are used.
 *
 * Returns the range covering @fault_addr, creating it (and its notifier) if
 * needed. A new range gets the largest chunk size from
 * &drm_gpusvm.chunk_sizes whose aligned window contains @fault_addr and lies
 * inside the VMA, its notifier, [@gpuva_start, @gpuva_end) and the mirrored
 * window, and overlaps no other range; a chunk of at most
 * &drm_gpusvm_ctx.check_pages_threshold is only taken if all its CPU pages are
 * present, the last (%PAGE_SIZE) one always is.
 *
 * The caller gets no reference of its own: the range lives until the driver
 * removes it with drm_gpusvm_range_remove(). Use drm_gpusvm_range_get() to
 * keep it longer.
 *
 * Context: Process context, the driver lock held for write (asserted), no mmap
 * lock and no notifier lock held; may sleep.
 * Returns: The range, or an ERR_PTR(): -EINVAL if @fault_addr is outside the
 * mirrored window or [@gpuva_start, @gpuva_end), if that window is empty, if
 * no chunk fits, if @gpusvm is a pages-only instance or was torn down with
 * drm_gpusvm_fini(); -EFAULT if the mm has exited; -ENOENT if no VMA is at
 * @fault_addr; -EOPNOTSUPP for %VM_PFNMAP, %VM_IO or %VM_MIXEDMAP memory;
 * -EPERM if the VMA is not readable, or not writable and write access is
 * wanted; -ENOMEM if an allocation failed (nothing is left behind), or the
 * error of mmu_interval_notifier_insert().
 */
struct drm_gpusvm_range *
drm_gpusvm_range_find_or_insert(struct drm_gpusvm *gpusvm,
				unsigned long fault_addr,
				unsigned long gpuva_start,
				unsigned long gpuva_end,
				const struct drm_gpusvm_ctx *ctx)
{
	struct drm_gpusvm_range *range = NULL;
	struct drm_gpusvm_notifier *notifier;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (!gpusvm->mm || fault_addr < gpusvm->mm_start ||
	    fault_addr - gpusvm->mm_start >= gpusvm->mm_range ||
	    gpuva_start >= gpuva_end || fault_addr < gpuva_start ||
	    fault_addr >= gpuva_end)
		return ERR_PTR(-EINVAL);

	/*
	 * The ranges only change under the driver lock: a range found now is
	 * the one to return, once its VMA is checked. A current mapping has
	 * checked it already.
	 */
	notifier = drm_gpusvm_notifier_find(gpusvm, fault_addr, fault_addr + 1);
	if (notifier) {
		range = drm_gpusvm_range_find(notifier, fault_addr,
					      fault_addr + 1);
		if (range && drm_gpusvm_range_mapping_current(range, ctx))
			return range;
	}

	return drm_gpusvm_range_check_or_insert(gpusvm, notifier, range,
						fault_addr, gpuva_start,
						gpuva_end, ctx);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_find_or_insert);

/*
 * Map one chunk of system memory. Several instances may map the same page for
 * the same device (two GPU VMs, a range and a userptr); DMA-API debug only
 * accepts overlapping device-writable mappings made with
 * DMA_ATTR_SKIP_CPU_SYNC, so skip the implicit sync and do it here.
 */
static int drm_gpusvm_dma_map(struct device *dev, struct page *page,
			      unsigned int order, enum dma_data_direction dir,
			      struct drm_pagemap_addr *addr)
{
	unsigned long attrs = dir == DMA_TO_DEVICE ? 0 : DMA_ATTR_SKIP_CPU_SYNC;
	size_t size = PAGE_SIZE << order;
	dma_addr_t dma;

	dma = dma_map_page_attrs(dev, page, 0, size, dir, attrs);
	if (dma_mapping_error(dev, dma))
		return -ENOMEM;

	if (attrs & DMA_ATTR_SKIP_CPU_SYNC)
		dma_sync_single_for_device(dev, dma, size, dir);

	*addr = drm_pagemap_addr_encode(dma, DRM_INTERCONNECT_SYSTEM, order,
					dir);
	return 0;
}

/* Undo drm_gpusvm_dma_map(), with the sync it skipped. */
static void drm_gpusvm_dma_unmap(struct device *dev,
				 const struct drm_pagemap_addr *addr)
{
	enum dma_data_direction dir = addr->dir;
	size_t size = PAGE_SIZE << addr->order;

	if (dir == DMA_TO_DEVICE) {
		dma_unmap_page(dev, addr->addr, size, dir);
		return;
	}

	dma_sync_single_for_cpu(dev, addr->addr, size, dir);
	dma_unmap_page_attrs(dev, addr->addr, size, dir,
			     DMA_ATTR_SKIP_CPU_SYNC);
}

/*
 * Unmap the entries of @dma_addr covering the first @npages pages. Shared by
 * the unmap path and the unwinding of a partial mapping.
 */
static void drm_gpusvm_unmap_entries(struct drm_gpusvm *gpusvm,
				     struct drm_pagemap_addr *dma_addr,
				     unsigned long npages,
				     struct drm_pagemap *dpagemap)
{
	struct device *dev = gpusvm->drm->dev;
	unsigned long i, j;

	for (i = 0, j = 0; i < npages; i += 1UL << dma_addr[j].order, j++) {
		if (dma_addr[j].proto == DRM_INTERCONNECT_SYSTEM)
			drm_gpusvm_dma_unmap(dev, &dma_addr[j]);
		else
			dpagemap->ops->device_unmap(dpagemap, dev, dma_addr[j]);
	}
}

/* Drop the DMA mappings of @svm_pages, if any. */
static void __drm_gpusvm_unmap_pages(struct drm_gpusvm *gpusvm,
				     struct drm_gpusvm_pages *svm_pages,
				     unsigned long npages)
{
	struct drm_gpusvm_pages_flags flags = {
		.__flags = svm_pages->flags.__flags,
	};

	lockdep_assert_held(&gpusvm->notifier_lock);

	if (!flags.has_dma_mapping)
		return;

	drm_gpusvm_unmap_entries(gpusvm, svm_pages->dma_addr, npages,
				 svm_pages->dpagemap);

	flags.has_dma_mapping = false;
	flags.has_devmem_pages = false;
	flags.has_system_pages = false;
	/* Pairs with READ_ONCE() of opportunistic lockless checks. */
	WRITE_ONCE(svm_pages->flags.__flags, flags.__flags);
	/* May be the last reference: drm_pagemap_ops.destroy cannot sleep. */
	drm_pagemap_put(svm_pages->dpagemap);
	svm_pages->dpagemap = NULL;
	WRITE_ONCE(svm_pages->owner, NULL);
}

/*
 * The largest naturally aligned power-of-two block of pages at @hmm_pfn that
 * its CPU mapping covers and that stays inside the span: a THP maps as one
 * entry when the span covers it, and no entry crosses the span's ends. The
 * CPU mapping is aligned both virtually and physically, so the alignment of
 * the pfn is that of the address.
 */
static unsigned int drm_gpusvm_hmm_pfn_to_order(unsigned long hmm_pfn,
						unsigned long index,
						unsigned long npages)
{
	unsigned long pfn = hmm_pfn & ~HMM_PFN_FLAGS;
	unsigned int order = hmm_pfn_to_map_order(hmm_pfn);

	if (pfn)
		order = min_t(unsigned int, order, __ffs(pfn));

	return min_t(unsigned int, order, ilog2(npages - index));
}

/*
 * DMA-map the pages hmm_range_fault() returned into @svm_pages, which holds no
 * mapping. Runs under the notifier lock with no invalidation since: the pages
 * cannot be freed while it runs. Device pages are those of
 * ctx->device_private_page_owner (any other device page was faulted back to
 * system memory); they must all be of one pagemap, and only mix with system
 * pages if ctx->allow_mixed. The mapping holds a reference on that pagemap. On
 * error nothing stays mapped.
 */
static int drm_gpusvm_map_pages(struct drm_gpusvm *gpusvm,
				struct drm_gpusvm_pages *svm_pages,
				const unsigned long *pfns, unsigned long npages,
				const struct drm_gpusvm_ctx *ctx)
{
	enum dma_data_direction dir = ctx->read_only ? DMA_TO_DEVICE :
						       DMA_BIDIRECTIONAL;
	struct drm_pagemap_addr *dma_addr = svm_pages->dma_addr;
	struct drm_gpusvm_pages_flags flags;
	struct device *dev = gpusvm->drm->dev;
	struct drm_pagemap *dpagemap = NULL;
	bool has_system_pages = false;
	unsigned int order;
	unsigned long i, j;
	int err;

	lockdep_assert_held(&gpusvm->notifier_lock);

	for (i = 0, j = 0; i < npages; i += 1UL << order, j++) {
		struct page *page;

		if (WARN_ON_ONCE(!(pfns[i] & HMM_PFN_VALID))) {
			err = -EFAULT;
			goto err_unmap;
		}

		page = hmm_pfn_to_page(pfns[i]);
		order = drm_gpusvm_hmm_pfn_to_order(pfns[i], i, npages);

		/* Every map can be made to fail, the k-th one with fail-nth. */
		if (drm_gpusvm_should_fail(PAGE_SIZE << order)) {
			err = -ENOMEM;
			goto err_unmap;
		}

		if (is_device_private_page(page)) {
			struct drm_pagemap *owner =
				drm_pagemap_page_to_dpagemap(page);

			/* Never two pagemaps, nor a foreign device page. */
			if (!owner || (dpagemap && owner != dpagemap) ||
			    (has_system_pages && !ctx->allow_mixed)) {
				err = -EOPNOTSUPP;
				goto err_unmap;
			}
			dpagemap = owner;

			dma_addr[j] = dpagemap->ops->device_map(dpagemap, dev,
								page, order,
								dir);
			if (dma_addr[j].addr == DMA_MAPPING_ERROR) {
				err = -ENOMEM;
				goto err_unmap;
			}
			/* The access is read from the entry: it must be ours. */
			if (WARN_ON_ONCE(dma_addr[j].dir != dir)) {
				dpagemap->ops->device_unmap(dpagemap, dev,
							    dma_addr[j]);
				err = -EINVAL;
				goto err_unmap;
			}
		} else {
			if (ctx->devmem_only) {
				err = -EFAULT;
				goto err_unmap;
			}
			/* No other kind of ZONE_DEVICE memory. */
			if ((dpagemap && !ctx->allow_mixed) ||
			    is_zone_device_page(page)) {
				err = -EOPNOTSUPP;
				goto err_unmap;
			}
			has_system_pages = true;

			err = drm_gpusvm_dma_map(dev, page, order, dir,
						 &dma_addr[j]);
			if (err)
				goto err_unmap;
		}
	}

	flags.__flags = svm_pages->flags.__flags;
	flags.has_dma_mapping = true;
	flags.has_devmem_pages = !!dpagemap;
	flags.has_system_pages = has_system_pages;
	/* The pages stay mapped in the CPU, so their pagemap is still alive. */
	svm_pages->dpagemap = drm_pagemap_get(dpagemap);
	WRITE_ONCE(svm_pages->owner, dpagemap ? dpagemap->pagemap->owner : NULL);
	/* Pairs with READ_ONCE() of opportunistic lockless checks. */
	WRITE_ONCE(svm_pages->flags.__flags, flags.__flags);

	return 0;

err_unmap:
	drm_gpusvm_unmap_entries(gpusvm, dma_addr, i, dpagemap);
	return err;
}

/**
 * drm_gpusvm_pages_valid() - Whether pages are mapped and current
 * @gpusvm: Pointer to the GPU SVM structure.
 * @svm_pages: Pointer to the pages.
 *
 * Only meaningful under the notifier lock: every invalidation of the pages'
 * span unmaps them before it ends, so the answer holds until the lock is
 * dropped. The driver commits GPU page-table entries while it holds.
 *
 * Context: The notifier lock held, for read or write (asserted); does not
 * sleep.
 * Returns: True if @svm_pages holds a current mapping, false if it holds none
 * or its CPU mapping is gone.
 */
bool drm_gpusvm_pages_valid(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_pages *svm_pages)
{
	lockdep_assert_held(&gpusvm->notifier_lock);

	return (svm_pages->flags.has_dma_mapping ||
		svm_pages->flags.has_devmem_pages) &&
	       !svm_pages->flags.unmapped;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_pages_valid);

/*
 * Whether the current mapping of @svm_pages serves @ctx. The driver may have
 * committed GPU PTEs from it, so get_pages never releases it: a mapping that
 * serves is returned as is, one that does not is left for the driver to zap
 * and unmap. Serves: the direction (a bidirectional mapping serves a read),
 * device pages of the owner asked for, system and device pages mixed only if
 * allowed. Returns 0 if it serves, -EFAULT for system pages where only device
 * pages will do (the driver migrates), else -EEXIST.
 */
static __always_inline int
drm_gpusvm_mapping_serves(const struct drm_gpusvm_pages *svm_pages,
			  struct drm_gpusvm_pages_flags flags,
			  const struct drm_gpusvm_ctx *ctx)
{
	if (flags.has_devmem_pages) {
		if (READ_ONCE(svm_pages->owner) !=
		    ctx->device_private_page_owner)
			return -EEXIST;
		if (flags.has_system_pages && !ctx->devmem_only &&
		    !ctx->allow_mixed)
			return -EEXIST;
	}
	if (flags.has_system_pages && ctx->devmem_only)
		return -EFAULT;
	if (!ctx->read_only &&
	    svm_pages->dma_addr[0].dir != DMA_BIDIRECTIONAL)
		return -EEXIST;

	return 0;
}

/*
 * On 6.12 hmm_range_fault() returns a device page of the caller's own owner as
 * valid but without HMM_PFN_WRITE when the CPU maps it read-only (COW after
 * fork, mprotect), even though write was asked: it does not fault it. Such a
 * page is never mapped for write. In a writable VMA, fault those pages alone
 * for write with no owner, which moves them to system memory and breaks the
 * COW, and have the caller go round again; in a VMA without VM_WRITE the access
 * is not allowed and nothing moves. mmap lock held.
 *
 * Returns: 0 if every page is writable; -EBUSY once the read-only ones were
 * faulted (the caller collects the span again, whether they moved or not);
 * -EPERM; or the error of hmm_range_fault().
 */
static int drm_gpusvm_fault_read_only_pages(struct mm_struct *mm,
					    struct hmm_range *hmm_range)
{
	unsigned long npages = drm_gpusvm_npages(hmm_range->start,
						 hmm_range->end);
	unsigned long *pfns = hmm_range->hmm_pfns;
	struct vm_area_struct *vma = NULL;
	struct hmm_range fault = *hmm_range;
	bool read_only = false;
	unsigned long i, addr;
	int err;

	for (i = 0; i < npages; i++) {
		if (pfns[i] & HMM_PFN_WRITE)
			continue;
		addr = hmm_range->start + (i << PAGE_SHIFT);
		if (!vma || addr >= vma->vm_end)
			vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & VM_WRITE))
			return -EPERM;
		read_only = true;
	}
	if (!read_only)
		return 0;

	/* Request per page: write faults for the read-only ones only. */
	for (i = 0; i < npages; i++)
		pfns[i] = pfns[i] & HMM_PFN_WRITE ? 0 :
			  HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
	fault.default_flags = 0;
	fault.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
	fault.dev_private_owner = NULL;
	err = hmm_range_fault(&fault);

	/* The migration back invalidated the span: collect it again. */
	return err ?: -EBUSY;
}

/*
 * Whether hmm_range_fault() returned every page writable (the usual case).
 * The pages of one CPU mapping block (a THP) share its flags: look at the
 * first of each.
 */
static bool drm_gpusvm_pfns_writable(const unsigned long *pfns,
				     unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages;
	     i += 1UL << drm_gpusvm_hmm_pfn_to_order(pfns[i], i, npages))
		if (!(pfns[i] & HMM_PFN_WRITE))
			return false;
	return true;
}

/*
 * The fault and map loop of drm_gpusvm_get_pages(), for pages that hold no
 * mapping.
 */
static int
drm_gpusvm_fault_and_map(struct drm_gpusvm *gpusvm,
			 struct drm_gpusvm_pages *svm_pages,
			 struct mm_struct *mm,
			 struct mmu_interval_notifier *notifier,
			 unsigned long pages_start, unsigned long pages_end,
			 const struct drm_gpusvm_ctx *ctx)
{
	unsigned long deadline = drm_gpusvm_hmm_deadline();
	unsigned long npages = drm_gpusvm_npages(pages_start, pages_end);
	struct hmm_range hmm_range = {
		.default_flags = HMM_PFN_REQ_FAULT |
				 (ctx->read_only ? 0 : HMM_PFN_REQ_WRITE),
		.notifier = notifier,
		.start = pages_start,
		.end = pages_end,
		.dev_private_owner = ctx->device_private_page_owner,
	};
	unsigned long *pfns;
	int err;

	/* Allocated outside the notifier lock: reclaim may need it. */
	pfns = drm_gpusvm_kvmalloc_array(npages, sizeof(*pfns));
	if (!pfns)
		return -ENOMEM;
	hmm_range.hmm_pfns = pfns;
	if (!svm_pages->dma_addr) {
		svm_pages->dma_addr =
			drm_gpusvm_kvmalloc_array(npages,
						  sizeof(*svm_pages->dma_addr));
		if (!svm_pages->dma_addr) {
			err = -ENOMEM;
			goto out_free_pfns;
		}
	}

	for (;;) {
		if (!mmget_not_zero(mm)) {
			err = -EFAULT;
			break;
		}
		err = drm_gpusvm_hmm_range_fault(mm, &hmm_range, deadline,
						 false);
		if (!err && !ctx->read_only &&
		    !drm_gpusvm_pfns_writable(pfns, npages)) {
			mmap_read_lock(mm);
			err = drm_gpusvm_fault_read_only_pages(mm, &hmm_range);
			mmap_read_unlock(mm);
		}
		mmput(mm);

		if (!err) {
			down_read(&gpusvm->notifier_lock);
			if (svm_pages->flags.unmapped)
				err = -EFAULT;
			else if (mmu_interval_read_retry(notifier,
							 hmm_range.notifier_seq))
				err = -EBUSY;
			else
				err = drm_gpusvm_map_pages(gpusvm, svm_pages,
							   pfns, npages, ctx);
			if (!err)
				svm_pages->notifier_seq = hmm_range.notifier_seq;
			up_read(&gpusvm->notifier_lock);
		}

		/* -EBUSY: an invalidation ran since mmu_interval_read_begin(). */
		if (err != -EBUSY || time_after(jiffies, deadline))
			break;
		/* Holding no page, like drm_gpusvm_hmm_range_fault(). */
		cond_resched();
	}

out_free_pfns:
	kvfree(pfns);
	return err;
}

/*
 * The answers of drm_gpusvm_get_pages() other than a current mapping that
 * serves: out of line, so that a re-fault returns without saving the
 * registers this part needs, nor setting up (and, with the stack
 * initialised, zeroing) the frame of the fault and map loop. Invalidations
 * only ever take a mapping away, and only this call makes one: without one
 * now there is none to check. Else check it once, under the lock.
 */
static noinline int
drm_gpusvm_get_pages_locked(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_pages *svm_pages,
			    struct mm_struct *mm,
			    struct mmu_interval_notifier *notifier,
			    unsigned long pages_start, unsigned long pages_end,
			    const struct drm_gpusvm_ctx *ctx)
{
	struct drm_gpusvm_pages_flags flags;
	int err = 0;

	flags.__flags = READ_ONCE(svm_pages->flags.__flags);
	if (flags.unmapped || flags.has_dma_mapping) {
		down_read(&gpusvm->notifier_lock);
		flags.__flags = svm_pages->flags.__flags;
		if (flags.unmapped)
			err = -EFAULT;
		else if (flags.has_dma_mapping)
			err = drm_gpusvm_mapping_serves(svm_pages, flags, ctx);
		up_read(&gpusvm->notifier_lock);
		if (flags.unmapped || flags.has_dma_mapping)
			return err;
	}

	return drm_gpusvm_fault_and_map(gpusvm, svm_pages, mm, notifier,
					pages_start, pages_end, ctx);
}

/**
 * drm_gpusvm_get_pages() - Fault in and DMA-map the pages of a span
 * @gpusvm: Pointer to the GPU SVM structure.
 * @svm_pages: Pointer to the pages to fill.
 * @mm: The mm of the span.
 * @notifier: An interval notifier of @mm covering the span; its invalidation
 *	callback must unmap @svm_pages under the notifier lock held for write.
 * @pages_start: Start of the span (page aligned).
 * @pages_end: Exclusive end of the span (page aligned).
 * @ctx: Options: &drm_gpusvm_ctx.read_only,
 *	&drm_gpusvm_ctx.device_private_page_owner, &drm_gpusvm_ctx.devmem_only
 *	and &drm_gpusvm_ctx.allow_mixed are used.
 *
 * A mapping the driver may have committed GPU PTEs from is never released
 * here: DMA and device mappings only go after the driver zapped its PTEs (in
 * its invalidation callback, or before drm_gpusvm_unmap_pages(),
 * drm_gpusvm_free_pages(), drm_gpusvm_range_remove() or drm_gpusvm_fini()).
 * So a current mapping that serves @ctx (direction: a bidirectional mapping
 * serves a read; device pages: those of the owner asked for; system and
 * device pages mixed only with &drm_gpusvm_ctx.allow_mixed) is returned as
 * is, without faulting or mapping again. A current mapping that cannot serve
 * @ctx is left untouched and the call returns -EEXIST: the driver zaps its
 * PTEs, calls drm_gpusvm_unmap_pages() and retries. A driver that takes
 * &drm_gpusvm_ctx.read_only from the VMA's %VM_WRITE and keeps one owner per
 * device never sees -EEXIST in normal operation: every change of CPU
 * protection invalidates first.
 *
 * Without a current mapping, runs the loop of mmu_interval_read_begin(),
 * hmm_range_fault() under the mmap lock, and DMA mapping under the notifier
 * lock once mmu_interval_read_retry() shows no invalidation ran meanwhile; the
 * loop is bounded by %HMM_RANGE_DEFAULT_TIMEOUT. System pages are mapped with
 * the DMA API, in entries as large as the CPU mapping allows; device pages of
 * &drm_gpusvm_ctx.device_private_page_owner through
 * &drm_pagemap_ops.device_map. The mapping is %DMA_TO_DEVICE when
 * &drm_gpusvm_ctx.read_only is set, else %DMA_BIDIRECTIONAL, and a write
 * mapping is only made of pages hmm_range_fault() returned writable: a device
 * page the CPU maps read-only (after fork or mprotect) is faulted back to
 * system memory for write first, or the call fails with -EPERM if its VMA is
 * not writable.
 *
 * Calls on the same @svm_pages must be serialised by the caller and use the
 * same span until drm_gpusvm_free_pages(). An empty span is a no-op.
 *
 * Context: Process context, no mmap lock and no notifier lock held; may sleep.
 * Returns: 0 on success (also for an empty span); -EINVAL if @mm or @notifier
 * is NULL or the span is unaligned, reversed or not inside @notifier, or
 * (with a warning) if &drm_pagemap_ops.device_map returned an entry of
 * another direction;
 * -EEXIST if a current mapping cannot serve @ctx; -EFAULT if the pages were
 * unmapped, the mm has exited, hmm_range_fault() found no usable VMA, or
 * &drm_gpusvm_ctx.devmem_only is set and a system page was seen; -EPERM if
 * the VMA forbids the access; -ENOMEM if an allocation or a mapping failed;
 * -EOPNOTSUPP if system and device pages, or device pages of two pagemaps,
 * are mixed, or a page is %ZONE_DEVICE memory of no &struct drm_pagemap;
 * -EBUSY if invalidations kept racing until the time bound. On error the call
 * leaves no mapping it made, and a mapping that was current before it exactly
 * as it was.
 */
int drm_gpusvm_get_pages(struct drm_gpusvm *gpusvm,
			 struct drm_gpusvm_pages *svm_pages,
			 struct mm_struct *mm,
			 struct mmu_interval_notifier *notifier,
			 unsigned long pages_start, unsigned long pages_end,
			 const struct drm_gpusvm_ctx *ctx)
{
	unsigned long npages = drm_gpusvm_npages(pages_start, pages_end);
	struct drm_gpusvm_pages_flags flags;

	if (!mm || !notifier || !PAGE_ALIGNED(pages_start) ||
	    !PAGE_ALIGNED(pages_end) || pages_end < pages_start)
		return -EINVAL;
	if (!npages)
		return 0;
	if (pages_start < notifier->interval_tree.start ||
	    pages_end - 1 > notifier->interval_tree.last)
		return -EINVAL;

	/*
	 * A current mapping that serves @ctx is returned as is, checked
	 * without the notifier lock: only this call, serialised by the driver
	 * lock, makes a mapping, and an invalidation racing with the check is
	 * one that ran right after the call, which the driver's pages-valid
	 * check under the lock sees. Every answer other than 0 takes the lock.
	 */
	flags.__flags = READ_ONCE(svm_pages->flags.__flags);
	if (flags.has_dma_mapping && !flags.unmapped &&
	    !drm_gpusvm_mapping_serves(svm_pages, flags, ctx))
		return 0;

	return drm_gpusvm_get_pages_locked(gpusvm, svm_pages, mm, notifier,
					   pages_start, pages_end, ctx);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_get_pages);

/**
 * drm_gpusvm_unmap_pages() - Drop the DMA mappings of pages
 * @gpusvm: Pointer to the GPU SVM structure.
 * @svm_pages: Pointer to the pages.
 * @npages: Number of pages of the span the pages were collected for.
 * @ctx: &drm_gpusvm_ctx.in_notifier is set when called from the invalidation
 *	callback.
 *
 * Keeps &drm_gpusvm_pages.dma_addr allocated for the next
 * drm_gpusvm_get_pages(). @npages of 0 is a no-op.
 *
 * Context: Process context. The notifier lock held for write if
 * &drm_gpusvm_ctx.in_notifier is set, else not held (it is taken for read).
 * The write side is asserted; taking the read side may sleep.
 * Returns: Nothing.
 */
void drm_gpusvm_unmap_pages(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_pages *svm_pages,
			    unsigned long npages,
			    const struct drm_gpusvm_ctx *ctx)
{
	if (!npages)
		return;

	if (ctx->in_notifier) {
		lockdep_assert_held_write(&gpusvm->notifier_lock);
		__drm_gpusvm_unmap_pages(gpusvm, svm_pages, npages);
		return;
	}

	down_read(&gpusvm->notifier_lock);
	__drm_gpusvm_unmap_pages(gpusvm, svm_pages, npages);
	up_read(&gpusvm->notifier_lock);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_unmap_pages);

/**
 * drm_gpusvm_free_pages() - Unmap pages and free their DMA address array
 * @gpusvm: Pointer to the GPU SVM structure.
 * @svm_pages: Pointer to the pages.
 * @npages: Number of pages of the span the pages were collected for.
 *
 * Leaves @svm_pages empty, ready for drm_gpusvm_get_pages() on any span.
 * @npages of 0 is a no-op.
 *
 * Context: Process context, the notifier lock not held; may sleep.
 * Returns: Nothing.
 */
void drm_gpusvm_free_pages(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_pages *svm_pages,
			   unsigned long npages)
{
	struct drm_pagemap_addr *dma_addr;

	if (!npages)
		return;

	down_read(&gpusvm->notifier_lock);
	__drm_gpusvm_unmap_pages(gpusvm, svm_pages, npages);
	dma_addr = svm_pages->dma_addr;
	svm_pages->dma_addr = NULL;
	up_read(&gpusvm->notifier_lock);

	kvfree(dma_addr);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_free_pages);

/**
 * drm_gpusvm_range_get_pages() - Fault in and DMA-map the pages of a range
 * @gpusvm: Pointer to the GPU SVM structure.
 * @range: Pointer to the GPU SVM range.
 * @ctx: Options, see drm_gpusvm_get_pages().
 *
 * drm_gpusvm_get_pages() over the range's span and notifier: a current
 * mapping that serves @ctx is returned as is, one that cannot gives -EEXIST
 * and is left alone. After it succeeds, the driver checks
 * drm_gpusvm_range_pages_valid() under the notifier lock before it commits GPU
 * page-table entries, still under the driver lock.
 *
 * Context: Process context, the driver lock held for write (asserted: it keeps
 * the range's notifier alive), no mmap lock and no notifier lock held; may
 * sleep.
 * Returns: 0 on success, -EFAULT if the range was unmapped or removed, else
 * an error of drm_gpusvm_get_pages().
 */
int drm_gpusvm_range_get_pages(struct drm_gpusvm *gpusvm,
			       struct drm_gpusvm_range *range,
			       const struct drm_gpusvm_ctx *ctx)
{
	drm_gpusvm_driver_lock_held(gpusvm);

	/* A removed range's notifier may be gone. */
	if (RB_EMPTY_NODE(&range->itree.rb))
		return -EFAULT;

	return drm_gpusvm_get_pages(gpusvm, &range->pages, gpusvm->mm,
				    &range->notifier->notifier,
				    drm_gpusvm_range_start(range),
				    drm_gpusvm_range_end(range), ctx);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_get_pages);

/**
 * drm_gpusvm_range_unmap_pages() - Drop the DMA mappings of a range
 * @gpusvm: Pointer to the GPU SVM structure.
 * @range: Pointer to the GPU SVM range.
 * @ctx: &drm_gpusvm_ctx.in_notifier is set when called from the invalidation
 *	callback.
 *
 * Context: Process context. The notifier lock held for write if
 * &drm_gpusvm_ctx.in_notifier is set, else not held (it is taken for read).
 * The write side is asserted; taking the read side may sleep.
 * Returns: Nothing.
 */
void drm_gpusvm_range_unmap_pages(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range,
				  const struct drm_gpusvm_ctx *ctx)
{
	drm_gpusvm_unmap_pages(gpusvm, &range->pages,
			       drm_gpusvm_npages(drm_gpusvm_range_start(range),
						 drm_gpusvm_range_end(range)),
			       ctx);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_unmap_pages);

/**
 * drm_gpusvm_range_pages_valid() - Whether a range's pages are current
 * @gpusvm: Pointer to the GPU SVM structure.
 * @range: Pointer to the GPU SVM range.
 *
 * See drm_gpusvm_pages_valid().
 *
 * Context: The notifier lock held, for read or write (asserted); does not
 * sleep.
 * Returns: True while the range's mapping is current, false if the range
 * holds no mapping or its CPU mapping is gone.
 */
bool drm_gpusvm_range_pages_valid(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range)
{
	return drm_gpusvm_pages_valid(gpusvm, &range->pages);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_pages_valid);

/**
 * drm_gpusvm_range_set_unmapped() - Mark a range as unmapped from the CPU
 * @range: Pointer to the GPU SVM range.
 * @mmu_range: The %MMU_NOTIFY_UNMAP invalidation.
 *
 * Sets &drm_gpusvm_range_flags.unmapped (and
 * &drm_gpusvm_range_flags.partial_unmap when @mmu_range covers only part of
 * the range) together with &drm_gpusvm_pages_flags.unmapped, so that
 * drm_gpusvm_range_get_pages() fails with -EFAULT until the driver removes the
 * range.
 *
 * Context: The notifier lock held for write (the invalidation callback),
 * asserted; does not sleep.
 * Returns: Nothing.
 */
void drm_gpusvm_range_set_unmapped(struct drm_gpusvm_range *range,
				   const struct mmu_notifier_range *mmu_range)
{
	struct drm_gpusvm_range_flags range_flags = {
		.__flags = range->flags.__flags,
	};
	struct drm_gpusvm_pages_flags pages_flags = {
		.__flags = range->pages.flags.__flags,
	};

	lockdep_assert_held_write(&range->gpusvm->notifier_lock);

	range_flags.unmapped = true;
	if (drm_gpusvm_range_start(range) < mmu_range->start ||
	    drm_gpusvm_range_end(range) > mmu_range->end)
		range_flags.partial_unmap = true;
	pages_flags.unmapped = true;

	/* Pairs with READ_ONCE() of opportunistic lockless checks. */
	WRITE_ONCE(range->flags.__flags, range_flags.__flags);
	WRITE_ONCE(range->pages.flags.__flags, pages_flags.__flags);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_set_unmapped);

/* drm_gpusvm_hmm_range_fault() over @range, with a reference on its mm. */
static int drm_gpusvm_range_hmm_fault(struct drm_gpusvm_range *range,
				      struct hmm_range *hmm_range)
{
	struct mm_struct *mm = range->gpusvm->mm;
	int err;

	if (!mm || !mmget_not_zero(mm))
		return -EFAULT;

	err = drm_gpusvm_hmm_range_fault(mm, hmm_range,
					 drm_gpusvm_hmm_deadline(), false);
	mmput(mm);
	return err;
}

/**
 * drm_gpusvm_range_evict() - Bring every page of a range to system memory
 * @gpusvm: Pointer to the GPU SVM structure.
 * @range: Pointer to the GPU SVM range.
 *
 * Faults the range's span in for read with no device-private owner, so that
 * the CPU fault handler of every device page (&dev_pagemap_ops.migrate_to_ram)
 * moves it back; unpopulated pages are faulted in as well. Invalidations that
 * race with it are retried until the time bound (%HMM_RANGE_DEFAULT_TIMEOUT)
 * passes. Timeslices do not hold it off: a device fault migrates at once.
 *
 * Context: Process context, the driver lock held for write (asserted: it keeps
 * the range's notifier alive), no mmap lock and no notifier lock held; may
 * sleep.
 * Returns: 0 when every page is in system memory; -EFAULT if the range was
 * removed, the mm has exited, there is no usable VMA or moving a page failed;
 * -EBUSY if the time bound passed; -ENOMEM on allocation failure.
 */
int drm_gpusvm_range_evict(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_range *range)
{
	unsigned long npages = drm_gpusvm_npages(drm_gpusvm_range_start(range),
						 drm_gpusvm_range_end(range));
	struct hmm_range hmm_range = {
		.default_flags = HMM_PFN_REQ_FAULT,
		.start = drm_gpusvm_range_start(range),
		.end = drm_gpusvm_range_end(range),
		.dev_private_owner = NULL,
	};
	unsigned long *pfns;
	unsigned long i;
	int err;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (RB_EMPTY_NODE(&range->itree.rb))
		return -EFAULT;
	hmm_range.notifier = &range->notifier->notifier;

	pfns = drm_gpusvm_kvmalloc_array(npages, sizeof(*pfns));
	if (!pfns)
		return -ENOMEM;
	hmm_range.hmm_pfns = pfns;

	err = drm_gpusvm_range_hmm_fault(range, &hmm_range);

	/* Owners are never NULL, so no device page can be reported. */
	for (i = 0; !err && i < npages; i++) {
		if (WARN_ON_ONCE(is_zone_device_page(hmm_pfn_to_page(pfns[i]))))
			err = -EBUSY;
	}

	kvfree(pfns);
	return err;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_evict);

/**
 * drm_gpusvm_scan_mm() - Find out where the pages of a range are
 * @range: Pointer to the GPU SVM range.
 * @dev_private_owner: Device-private owner whose device pages are seen as
 *	such; device pages of other owners look unpopulated.
 * @pagemap: The pagemap to compare device pages with (may be NULL).
 *
 * An advisory scan with hmm_range_fault() that faults nothing in, so that a
 * driver can skip a migration that would change nothing.
 *
 * Context: Process context, the driver lock held for write (asserted: it keeps
 * the range's notifier alive), no mmap lock and no notifier lock held; may
 * sleep.
 * Returns: The &enum drm_gpusvm_scan_result of the range;
 * %DRM_GPUSVM_SCAN_UNPOPULATED also when the scan itself failed (range
 * removed, mm exited, allocation failure, time bound).
 */
enum drm_gpusvm_scan_result
drm_gpusvm_scan_mm(struct drm_gpusvm_range *range, void *dev_private_owner,
		   const struct drm_pagemap *pagemap)
{
	unsigned long npages = drm_gpusvm_npages(drm_gpusvm_range_start(range),
						 drm_gpusvm_range_end(range));
	struct hmm_range hmm_range = {
		.start = drm_gpusvm_range_start(range),
		.end = drm_gpusvm_range_end(range),
		.dev_private_owner = dev_private_owner,
	};
	enum drm_gpusvm_scan_result result = DRM_GPUSVM_SCAN_UNPOPULATED;
	struct dev_pagemap *first = NULL;
	bool system = false, device = false, mixed_device = false;
	unsigned long *pfns;
	unsigned long i;

	drm_gpusvm_driver_lock_held(range->gpusvm);

	if (RB_EMPTY_NODE(&range->itree.rb))
		return DRM_GPUSVM_SCAN_UNPOPULATED;
	hmm_range.notifier = &range->notifier->notifier;

	pfns = drm_gpusvm_kvmalloc_array(npages, sizeof(*pfns));
	if (!pfns)
		return DRM_GPUSVM_SCAN_UNPOPULATED;
	hmm_range.hmm_pfns = pfns;

	if (drm_gpusvm_range_hmm_fault(range, &hmm_range))
		goto out_free;

	for (i = 0; i < npages; i++) {
		struct page *page;

		if (!(pfns[i] & HMM_PFN_VALID))
			goto out_free;

		/* The pgmap of a ZONE_DEVICE page never changes. */
		page = hmm_pfn_to_page(pfns[i]);
		if (!is_device_private_page(page)) {
			system = true;
			continue;
		}

		device = true;
		if (!first)
			first = page->pgmap;
		else if (page->pgmap != first)
			mixed_device = true;
	}

	if (system)
		result = device ? DRM_GPUSVM_SCAN_MIXED : DRM_GPUSVM_SCAN_SYSTEM;
	else if (mixed_device)
		result = DRM_GPUSVM_SCAN_MIXED_DEVICE;
	else if (pagemap && first == pagemap->pagemap)
		result = DRM_GPUSVM_SCAN_EQUAL;
	else
		result = DRM_GPUSVM_SCAN_OTHER;

out_free:
	kvfree(pfns);
	return result;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_scan_mm);

/**
 * drm_gpusvm_range_get() - Take a reference on a range
 * @range: Pointer to the GPU SVM range.
 *
 * Context: Any context.
 * Returns: @range.
 */
struct drm_gpusvm_range *drm_gpusvm_range_get(struct drm_gpusvm_range *range)
{
	kref_get(&range->refcount);

	return range;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_get);

static void drm_gpusvm_range_destroy(struct kref *refcount)
{
	struct drm_gpusvm_range *range =
		container_of(refcount, struct drm_gpusvm_range, refcount);
	struct drm_gpusvm *gpusvm = range->gpusvm;

	if (gpusvm->ops->range_free)
		gpusvm->ops->range_free(range);
	else
		kfree(range);
}

/**
 * drm_gpusvm_range_put() - Drop a reference on a range
 * @range: Pointer to the GPU SVM range.
 *
 * The last put frees the range with &drm_gpusvm_ops.range_free, or kfree().
 * The GPU SVM instance must outlive its ranges.
 *
 * Context: Process context if it may be the last reference (the driver's
 * &drm_gpusvm_ops.range_free decides what it needs). Otherwise any context.
 * Returns: Nothing.
 */
void drm_gpusvm_range_put(struct drm_gpusvm_range *range)
{
	kref_put(&range->refcount, drm_gpusvm_range_destroy);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_put);

/**
 * drm_gpusvm_range_remove() - Remove a range
 * @gpusvm: Pointer to the GPU SVM structure.
 * @range: Pointer to the GPU SVM range.
 *
 * Unmaps and frees the range's pages, takes it out of its notifier and drops
 * the tree's reference. Removes the notifier from the mm and frees it when
 * this was its last range. Never call it from the invalidation callback:
 * removing a notifier waits for invalidations to finish.
 *
 * Context: Process context, the driver lock held for write (asserted), no
 * mmap lock and no notifier lock held; may sleep.
 * Returns: Nothing.
 */
void drm_gpusvm_range_remove(struct drm_gpusvm *gpusvm,
			     struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_notifier *notifier = range->notifier;
	struct drm_pagemap_addr *dma_addr;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (WARN_ON_ONCE(RB_EMPTY_NODE(&range->itree.rb)))
		return;

	down_read(&gpusvm->notifier_lock);
	__drm_gpusvm_unmap_pages(gpusvm, &range->pages,
				 drm_gpusvm_npages(drm_gpusvm_range_start(range),
						   drm_gpusvm_range_end(range)));
	dma_addr = range->pages.dma_addr;
	range->pages.dma_addr = NULL;
	interval_tree_remove(&range->itree, &notifier->root);
	RB_CLEAR_NODE(&range->itree.rb);
	list_del_init(&range->entry);
	up_read(&gpusvm->notifier_lock);

	kvfree(dma_addr);
	drm_gpusvm_range_put(range);

	if (!RB_EMPTY_ROOT(&notifier->root.rb_root))
		return;

	if (!notifier->flags.removed)
		mmu_interval_notifier_remove(&notifier->notifier);
	drm_gpusvm_notifier_remove(gpusvm, notifier);
	drm_gpusvm_notifier_free(gpusvm, notifier);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_remove);

/**
 * drm_gpusvm_find_vma_start() - Start of the first VMA in a span
 * @gpusvm: Pointer to the GPU SVM structure.
 * @start: Start of the span.
 * @end: Exclusive end of the span.
 *
 * Context: Process context, no mmap lock and no notifier lock held; may sleep.
 * Returns: The start of the first VMA of the mirrored mm intersecting
 * [@start, @end) (which may lie below @start), or %ULONG_MAX if there is none,
 * the span is empty, @gpusvm is a pages-only instance or the mm has exited.
 */
unsigned long drm_gpusvm_find_vma_start(struct drm_gpusvm *gpusvm,
					unsigned long start,
					unsigned long end)
{
	struct mm_struct *mm = gpusvm->mm;
	struct vm_area_struct *vma;
	unsigned long addr = ULONG_MAX;

	if (!mm || start >= end || !mmget_not_zero(mm))
		return ULONG_MAX;

	mmap_read_lock(mm);
	vma = find_vma_intersection(mm, start, end);
	if (vma)
		addr = vma->vm_start;
	mmap_read_unlock(mm);
	mmput(mm);

	return addr;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_find_vma_start);

/**
 * drm_gpusvm_fini() - Tear down a GPU SVM instance
 * @gpusvm: Pointer to the GPU SVM structure.
 *
 * Removes every notifier from the mm first, so that no invalidation runs any
 * more, then every range with its mappings and notifier, and drops the
 * reference on the mm. Nothing else may use the instance concurrently; range
 * references the driver still holds must be dropped before the instance is
 * freed.
 *
 * Calls made after it, e.g. by a thread that was waiting for the driver lock,
 * find no notifier and no range: drm_gpusvm_range_find_or_insert() fails with
 * -EINVAL, and a range the driver still references is a removed range
 * (drm_gpusvm_range_get_pages() and drm_gpusvm_range_evict() fail with
 * -EFAULT). Calling drm_gpusvm_fini() again does nothing.
 *
 * Context: Process context, the driver lock held for write if one was set
 * (asserted), no mmap lock and no notifier lock held; may sleep.
 * Returns: Nothing.
 */
void drm_gpusvm_fini(struct drm_gpusvm *gpusvm)
{
	struct drm_gpusvm_notifier *notifier, *next;

	drm_gpusvm_driver_lock_held(gpusvm);

	drm_gpusvm_for_each_notifier(notifier, gpusvm, 0, ULONG_MAX) {
		mmu_interval_notifier_remove(&notifier->notifier);
		notifier->flags.removed = true;
	}

	drm_gpusvm_for_each_notifier_safe(notifier, next, gpusvm, 0, ULONG_MAX) {
		struct drm_gpusvm_range *range, *range_next;

		/*
		 * Removing the last range frees the notifier; neither loop
		 * looks at it after that.
		 */
		drm_gpusvm_for_each_range_safe(range, range_next, notifier, 0,
					       ULONG_MAX)
			drm_gpusvm_range_remove(gpusvm, range);
	}

	if (gpusvm->mm)
		mmdrop(gpusvm->mm);
	gpusvm->mm = NULL;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_fini);

MODULE_DESCRIPTION("DRM GPU shared virtual memory helpers");
MODULE_LICENSE("Dual MIT/GPL");
