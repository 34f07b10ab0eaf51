// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of careless or hostile callers of the GPU SVM helpers: spans
 * that are empty, unaligned, reversed, wrapping or huge; ranges used through
 * a reference after their removal; teardown while other threads hold range
 * references or wait for the driver lock; an mm that exits in the middle of
 * a fault; a driver without garbage collector; the wrong lock held; callbacks
 * that break their contract. Each gets its documented error, or a warning
 * for a genuine caller bug, and never corrupts memory or leaks.
 *
 * A case that may trigger a warning says so first, with a
 * "gpusvm-expect-warn: <file or function>" line that the console scanner
 * takes as the one place a warning of that case may come from. The suite
 * runs after every other one: WARN_ON_ONCE() and lockdep report only once.
 */

#include <kunit/test.h>

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/kthread.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_context.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

#include "drm_gpusvm_test_gpu.h"
#include "drm_gpusvm_test_vram.h"

/* Where the helpers warn: the scanner allows warnings located there. */
#define GPUSVM_SRC	"drivers/gpu/drm/drm_gpusvm.c"
#define PAGEMAP_SRC	"drivers/gpu/drm/drm_pagemap.c"

/* Tell the console scanner that a warning from @where may follow. */
static void expect_warn(struct kunit *test, const char *where)
{
	kunit_info(test, "gpusvm-expect-warn: %s\n", where);
}

/*
 * A bare driver: ranges and notifiers counted, an invalidation callback that
 * unmaps and flags ranges, and no garbage collector at all.
 */
struct bare_gpu {
	struct drm_gpusvm svm;
	/* The driver lock: serialises faults, removal and teardown. */
	struct mutex lock;
	atomic_t ranges;
	atomic_t unmapped;
};

static atomic_t bare_notifiers = ATOMIC_INIT(0);

static struct bare_gpu *to_bare(struct drm_gpusvm *svm)
{
	return container_of(svm, struct bare_gpu, svm);
}

static struct drm_gpusvm_notifier *bare_notifier_alloc(void)
{
	struct drm_gpusvm_notifier *notifier;

	notifier = kzalloc(sizeof(*notifier), GFP_KERNEL);
	if (notifier)
		atomic_inc(&bare_notifiers);
	return notifier;
}

static void bare_notifier_free(struct drm_gpusvm_notifier *notifier)
{
	atomic_dec(&bare_notifiers);
	kfree(notifier);
}

static struct drm_gpusvm_range *bare_range_alloc(struct drm_gpusvm *svm)
{
	struct drm_gpusvm_range *range = kzalloc(sizeof(*range), GFP_KERNEL);

	if (range)
		atomic_inc(&to_bare(svm)->ranges);
	return range;
}

static void bare_range_free(struct drm_gpusvm_range *range)
{
	atomic_dec(&to_bare(range->gpusvm)->ranges);
	kfree(range);
}

static void bare_invalidate(struct drm_gpusvm *svm,
			    struct drm_gpusvm_notifier *notifier,
			    const struct mmu_notifier_range *mmu_range)
{
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct drm_gpusvm_range *range;

	drm_gpusvm_for_each_range(range, notifier, mmu_range->start,
				  mmu_range->end) {
		drm_gpusvm_range_unmap_pages(svm, range, &ctx);
		if (mmu_range->event == MMU_NOTIFY_UNMAP &&
		    !range->flags.unmapped) {
			drm_gpusvm_range_set_unmapped(range, mmu_range);
			atomic_inc(&to_bare(svm)->unmapped);
		}
	}
}

static const struct drm_gpusvm_ops bare_ops = {
	.notifier_alloc = bare_notifier_alloc,
	.notifier_free = bare_notifier_free,
	.range_alloc = bare_range_alloc,
	.range_free = bare_range_free,
	.invalidate = bare_invalidate,
};

static void bare_gpu_release(void *data)
{
	struct bare_gpu *b = data;

	mutex_lock(&b->lock);
	drm_gpusvm_fini(&b->svm);
	mutex_unlock(&b->lock);
	mutex_destroy(&b->lock);
}

/* A bare driver's GPU VM on @drm over all of @mm, torn down with the case. */
static struct bare_gpu *bare_gpu_create(struct kunit *test,
					struct drm_device *drm,
					struct mm_struct *mm,
					const struct drm_gpusvm_ops *ops)
{
	struct bare_gpu *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, b);
	mutex_init(&b->lock);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&b->svm, "bare", drm, mm, 0,
					      TASK_SIZE, SZ_512M, ops,
					      test_gpu_chunk_sizes,
					      ARRAY_SIZE(test_gpu_chunk_sizes)),
			0);
	drm_gpusvm_driver_set_lock(&b->svm, &b->lock);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, bare_gpu_release,
							b), 0);
	return b;
}

static struct drm_gpusvm_range *bare_fault(struct bare_gpu *b,
					   unsigned long addr, int *err)
{
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	mutex_lock(&b->lock);
	range = drm_gpusvm_range_find_or_insert(&b->svm, addr, 0, TASK_SIZE,
						&ctx);
	if (IS_ERR(range))
		*err = PTR_ERR(range);
	else
		*err = drm_gpusvm_range_get_pages(&b->svm, range, &ctx);
	mutex_unlock(&b->lock);
	return range;
}

static unsigned long mmap_rw(struct kunit *test, unsigned long len)
{
	return test_mmap(test, len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
}

/* --- Spans ----------------------------------------------------------------- */

/*
 * Empty, reversed and wrapping spans find nothing and fault nothing; an
 * empty page span is a no-op; unaligned, reversed, wrapping spans, spans
 * outside the notifier and a NULL notifier or mm give -EINVAL.
 */
static void hostile_spans_rejected(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = mmap_rw(test, SZ_64K);
	unsigned long top = ULONG_MAX & PAGE_MASK;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct drm_gpusvm_notifier *notifier;
	struct test_userptr *up;

	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr, false), 0);

	mutex_lock(&gpu->lock);
	notifier = drm_gpusvm_notifier_find(&gpu->gpusvm, addr, addr + 1);
	KUNIT_ASSERT_NOT_NULL(test, notifier);
	KUNIT_EXPECT_NULL(test, drm_gpusvm_notifier_find(&gpu->gpusvm, addr,
							 addr));
	KUNIT_EXPECT_NULL(test, drm_gpusvm_notifier_find(&gpu->gpusvm,
							 addr + 1, addr));
	KUNIT_EXPECT_NULL(test, drm_gpusvm_notifier_find(&gpu->gpusvm, top,
							 0));
	KUNIT_EXPECT_NULL(test, drm_gpusvm_range_find(notifier, addr, addr));
	KUNIT_EXPECT_NULL(test, drm_gpusvm_range_find(notifier, addr + SZ_4K,
						      addr));
	KUNIT_EXPECT_NULL(test, drm_gpusvm_range_find(notifier, top, 0));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(&gpu->gpusvm, addr,
							addr));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(&gpu->gpusvm, top, 0));
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_has_mapping(&gpu->gpusvm, 0,
						       ULONG_MAX));

	/* Fault addresses and GPU VA windows at and across the top. */
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, ULONG_MAX, 0,
						ULONG_MAX, &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, addr, top, 0,
						&ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, TASK_SIZE, 0,
						ULONG_MAX, &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	mutex_unlock(&gpu->lock);

	KUNIT_EXPECT_EQ(test, drm_gpusvm_find_vma_start(&gpu->gpusvm, addr,
							addr), ULONG_MAX);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_find_vma_start(&gpu->gpusvm, top, 0),
			ULONG_MAX);

	up = test_userptr_create(test, gpu, addr, SZ_64K);
	/* Empty: nothing to do, nothing allocated. */
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr, addr, &ctx), 0);
	KUNIT_EXPECT_NULL(test, up->pages.dma_addr);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr + SZ_64K, addr, &ctx),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr, addr + SZ_4K + 1, &ctx),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   top, 0, &ctx), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr, addr + SZ_128K, &ctx),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   NULL, &up->notifier, addr,
						   addr + SZ_4K, &ctx), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, NULL, addr,
						   addr + SZ_4K, &ctx), -EINVAL);
	KUNIT_EXPECT_FALSE(test, up->pages.flags.has_dma_mapping);
	/* Zero pages to unmap or free is a no-op. */
	drm_gpusvm_unmap_pages(&up->gpusvm, &up->pages, 0, &ctx);
	drm_gpusvm_free_pages(&up->gpusvm, &up->pages, 0);

	mmu_interval_notifier_remove(&up->notifier);
	drm_gpusvm_free_pages(&up->gpusvm, &up->pages, up->npages);
	drm_gpusvm_fini(&up->gpusvm);
	test_gpu_expect_clean(gpu);
}

/*
 * A span too large to collect at once (here 1 TiB: 2^28 pfns) fails with
 * -ENOMEM, without the allocator's warning about absurd sizes: userptr
 * sizes often come from user space.
 */
static void hostile_huge_span_enomem(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long start = 1UL << 44, size = 1UL << 40;
	struct drm_gpusvm_ctx ctx = {};
	struct test_userptr *up;

	up = test_userptr_create(test, gpu, start, size);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   start, start + size, &ctx),
			-ENOMEM);
	KUNIT_EXPECT_NULL(test, up->pages.dma_addr);
	mmu_interval_notifier_remove(&up->notifier);
	drm_gpusvm_fini(&up->gpusvm);
	test_gpu_expect_clean(gpu);
}

/* --- Lifetimes ------------------------------------------------------------- */

/*
 * A range the driver still references after removing it: every call gives
 * its documented answer and touches no notifier; removing it again is a
 * caller bug that warns and does nothing else.
 */
static void hostile_removed_range_through_reference(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = mmap_rw(test, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	test_fill_user(test, addr, SZ_64K, 1);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr, false), 0);
	range = drm_gpusvm_range_get(test_gpu_range_at(gpu, addr));
	test_gpu_remove_all_ranges(gpu);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);

	mutex_lock(&gpu->lock);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&gpu->gpusvm, range,
							 &ctx), -EFAULT);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_evict(&gpu->gpusvm, range),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, NULL, NULL),
			DRM_GPUSVM_SCAN_UNPOPULATED);
	drm_gpusvm_range_unmap_pages(&gpu->gpusvm, range, &ctx);
	drm_gpusvm_notifier_lock(&gpu->gpusvm);
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_range_pages_valid(&gpu->gpusvm,
							      range));
	drm_gpusvm_notifier_unlock(&gpu->gpusvm);
	expect_warn(test, GPUSVM_SRC);
	drm_gpusvm_range_remove(&gpu->gpusvm, range);
	mutex_unlock(&gpu->lock);

	KUNIT_EXPECT_EQ(test, atomic_read(&gpu->ranges), 1);
	drm_gpusvm_range_put(range);
	KUNIT_EXPECT_EQ(test, atomic_read(&gpu->ranges), 0);
	/* The CPU side is as it was, and a new fault works. */
	test_expect_data(test, gpu, addr, SZ_64K, 1);
	test_gpu_expect_clean(gpu);
}

struct waiter {
	struct bare_gpu *b;
	unsigned long addr;
	int err;
	struct completion started;
	struct completion done;
	struct task_struct *task;
};

/* Blocks on the driver lock, then faults: after fini, the documented error. */
static int waiter_fn(void *data)
{
	struct waiter *w = data;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	complete(&w->started);
	mutex_lock(&w->b->lock);
	range = drm_gpusvm_range_find_or_insert(&w->b->svm, w->addr, 0,
						TASK_SIZE, &ctx);
	w->err = PTR_ERR_OR_ZERO(range);
	mutex_unlock(&w->b->lock);
	test_kthread_finish(NULL, &w->done);
	return 0;
}

/*
 * drm_gpusvm_fini() while two threads wait for the driver lock and the
 * driver holds a range reference: the waiters then get -EINVAL, the
 * reference -EFAULT, a second fini does nothing, and nothing leaks.
 */
static void hostile_fini_with_waiters_and_references(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct bare_gpu *b = bare_gpu_create(test, gpu->drm, current->mm,
					     &bare_ops);
	unsigned long addr = mmap_rw(test, SZ_4M);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct waiter w[2] = {};
	unsigned int i;
	int err;

	range = bare_fault(b, addr, &err);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, range);
	KUNIT_ASSERT_EQ(test, err, 0);
	drm_gpusvm_range_get(range);

	mutex_lock(&b->lock);
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		w[i].b = b;
		w[i].addr = addr + SZ_2M;
		init_completion(&w[i].started);
		init_completion(&w[i].done);
		w[i].task = kthread_run(waiter_fn, &w[i], "gpusvm-waiter");
		if (IS_ERR(w[i].task)) {
			mutex_unlock(&b->lock);
			KUNIT_FAIL_AND_ABORT(test, "kthread_run: %ld",
					     PTR_ERR(w[i].task));
		}
		wait_for_completion(&w[i].started);
	}
	/* Let them block on the lock (they would wait anyway). */
	msleep(20);
	drm_gpusvm_fini(&b->svm);
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(&b->svm, 0, ULONG_MAX));
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&b->svm, range, &ctx),
			-EFAULT);
	mutex_unlock(&b->lock);

	for (i = 0; i < ARRAY_SIZE(w); i++) {
		wait_for_completion(&w[i].done);
		kthread_stop(w[i].task);
		KUNIT_EXPECT_EQ(test, w[i].err, -EINVAL);
	}

	KUNIT_EXPECT_EQ(test, atomic_read(&bare_notifiers), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->ranges), 1);
	drm_gpusvm_range_put(range);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->ranges), 0);

	mutex_lock(&b->lock);
	drm_gpusvm_fini(&b->svm);
	mutex_unlock(&b->lock);
	test_gpu_expect_clean(gpu);
}

/*
 * A driver that never collects garbage: the ranges of unmapped memory stay
 * flagged, faults on memory mapped again at their place get -EFAULT (the
 * documented cue to remove them), and fini frees them all.
 */
static void hostile_no_garbage_collector(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct bare_gpu *b = bare_gpu_create(test, gpu->drm, current->mm,
					     &bare_ops);
	unsigned long addr = mmap_rw(test, SZ_4M), again;
	struct drm_gpusvm_range *range;
	int err, i;

	for (i = 0; i < 4; i++) {
		range = bare_fault(b, addr + i * SZ_1M, &err);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, range);
		KUNIT_EXPECT_EQ(test, err, 0);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&b->ranges), 2);

	KUNIT_ASSERT_EQ(test, vm_munmap(addr, SZ_4M), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->unmapped), 2);
	again = vm_mmap(NULL, addr, SZ_4M, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	KUNIT_ASSERT_EQ(test, again, addr);

	range = bare_fault(b, addr, &err);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, range);
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_EQ(test, err, -EFAULT);

	mutex_lock(&b->lock);
	drm_gpusvm_fini(&b->svm);
	mutex_unlock(&b->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->ranges), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&bare_notifiers), 0);
	vm_munmap(addr, SZ_4M);
	test_gpu_expect_clean(gpu);
}

/* Map and fill @len bytes in @mm, from the case thread switched to it. */
static unsigned long mmap_in(struct mm_struct *mm, unsigned long len)
{
	struct mm_struct *own = current->mm;
	unsigned long addr;

	kthread_unuse_mm(own);
	kthread_use_mm(mm);
	addr = vm_mmap(NULL, 0, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (!IS_ERR_VALUE(addr) && clear_user((void __user *)addr, len))
		addr = -EFAULT;
	kthread_unuse_mm(mm);
	kthread_use_mm(own);
	return addr;
}

/*
 * The process exits between the range lookup of a fault and the collection
 * of its pages: the mapping goes with the mm, every later call gives -EFAULT
 * and teardown works on the dead mm.
 */
static void hostile_mm_exits_mid_fault(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct mm_struct *mm;
	struct bare_gpu *b;
	unsigned long addr;

	mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, mm);
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	addr = mmap_in(mm, SZ_64K);
	if (IS_ERR_VALUE(addr)) {
		mmput(mm);
		KUNIT_FAIL_AND_ABORT(test, "mmap in the new mm: %ld",
				     (long)addr);
	}
	b = bare_gpu_create(test, gpu->drm, mm, &bare_ops);

	mutex_lock(&b->lock);
	range = drm_gpusvm_range_find_or_insert(&b->svm, addr, 0, TASK_SIZE,
						&ctx);
	if (IS_ERR(range)) {
		mutex_unlock(&b->lock);
		mmput(mm);
		KUNIT_FAIL_AND_ABORT(test, "find_or_insert: %ld",
				     PTR_ERR(range));
	}
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&b->svm, range, &ctx),
			0);
	KUNIT_EXPECT_TRUE(test, range->pages.flags.has_dma_mapping);

	/* The last user goes: exit_mmap() releases every notifier. */
	mmput(mm);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&b->svm, range, &ctx),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_evict(&b->svm, range), -EFAULT);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, NULL, NULL),
			DRM_GPUSVM_SCAN_UNPOPULATED);
	KUNIT_EXPECT_EQ(test, PTR_ERR(drm_gpusvm_range_find_or_insert(&b->svm,
								      addr + SZ_32K,
								      0, TASK_SIZE,
								      &ctx)),
			-EFAULT);
	drm_gpusvm_fini(&b->svm);
	mutex_unlock(&b->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->ranges), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&bare_notifiers), 0);
	test_gpu_expect_clean(gpu);
}

/* --- Broken driver callbacks and the wrong lock ---------------------------- */

static struct drm_gpusvm_range *err_range_alloc(struct drm_gpusvm *svm)
{
	return ERR_PTR(-ENOMEM);
}

static struct drm_gpusvm_notifier *err_notifier_alloc(void)
{
	return ERR_PTR(-ENOMEM);
}

static const struct drm_gpusvm_ops err_range_ops = {
	.notifier_alloc = bare_notifier_alloc,
	.notifier_free = bare_notifier_free,
	.range_alloc = err_range_alloc,
	.invalidate = bare_invalidate,
};

static const struct drm_gpusvm_ops err_notifier_ops = {
	.notifier_alloc = err_notifier_alloc,
	.range_alloc = bare_range_alloc,
	.range_free = bare_range_free,
	.invalidate = bare_invalidate,
};

/* An ERR_PTR() from an allocation hook is a failure, with a warning. */
static void hostile_alloc_hooks_return_err_ptr(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct bare_gpu *r = bare_gpu_create(test, gpu->drm, current->mm,
					     &err_range_ops);
	struct bare_gpu *n = bare_gpu_create(test, gpu->drm, current->mm,
					     &err_notifier_ops);
	unsigned long addr = mmap_rw(test, SZ_64K);
	int err;

	expect_warn(test, GPUSVM_SRC);
	KUNIT_EXPECT_TRUE(test, IS_ERR(bare_fault(r, addr, &err)));
	KUNIT_EXPECT_EQ(test, err, -ENOMEM);
	KUNIT_EXPECT_TRUE(test, IS_ERR(bare_fault(n, addr, &err)));
	KUNIT_EXPECT_EQ(test, err, -ENOMEM);
	KUNIT_EXPECT_EQ(test, atomic_read(&bare_notifiers), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&n->ranges), 0);
	test_gpu_expect_clean(gpu);
}

/*
 * Calls without the lock their contract asks for trip lockdep's assertions
 * (a warning, never a lockdep report) and still do their job.
 */
static void hostile_wrong_lock_warns(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = mmap_rw(test, SZ_64K);
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct mmu_notifier_range mmu_range = {
		.event = MMU_NOTIFY_UNMAP,
	};
	struct drm_gpusvm_range *range;

	test_fill_user(test, addr, SZ_64K, 2);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr, false), 0);
	range = test_gpu_range_at(gpu, addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	mmu_range.start = drm_gpusvm_range_start(range);
	mmu_range.end = drm_gpusvm_range_end(range);

	expect_warn(test, GPUSVM_SRC);
	/* No driver lock. */
	KUNIT_EXPECT_PTR_EQ(test,
			    drm_gpusvm_range_find_or_insert(&gpu->gpusvm, addr,
							    gpu->gpuva_start,
							    gpu->gpuva_end,
							    &gpu->ctx), range);
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_has_mapping(&gpu->gpusvm, addr,
						       addr + 1));
	/* No notifier lock. */
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_range_pages_valid(&gpu->gpusvm,
							     range));

	/* The notifier lock for read where the callback holds it for write. */
	mutex_lock(&gpu->lock);
	drm_gpusvm_notifier_lock(&gpu->gpusvm);
	drm_gpusvm_range_unmap_pages(&gpu->gpusvm, range, &ctx);
	drm_gpusvm_range_set_unmapped(range, &mmu_range);
	drm_gpusvm_notifier_unlock(&gpu->gpusvm);
	mutex_unlock(&gpu->lock);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);

	/* The GPU PTEs were left behind by the careless caller: zap them. */
	test_gpu_remove_all_ranges(gpu);
	test_expect_data(test, gpu, addr, SZ_64K, 2);
	test_gpu_expect_clean(gpu);
}

/* --- Device memory --------------------------------------------------------- */

static struct drm_pagemap_addr
hostile_device_map(struct drm_pagemap *dpagemap, struct device *dev,
		   struct page *page, unsigned int order,
		   enum dma_data_direction dir)
{
	return drm_pagemap_addr_encode(DMA_MAPPING_ERROR,
				       DRM_INTERCONNECT_DRIVER, order, dir);
}

static void hostile_device_unmap(struct drm_pagemap *dpagemap,
				 struct device *dev,
				 struct drm_pagemap_addr addr)
{
}

static const struct drm_pagemap_ops no_device_map_ops = {
	.device_unmap = hostile_device_unmap,
};

static const struct drm_pagemap_ops no_device_unmap_ops = {
	.device_map = hostile_device_map,
};

static const struct drm_pagemap_ops no_populate_mm_ops = {
	.device_map = hostile_device_map,
	.device_unmap = hostile_device_unmap,
};

static const struct dev_pagemap_ops foreign_pagemap_ops = {};

/*
 * drm_pagemap_init() refuses regions the helpers cannot use: a missing
 * device_map or device_unmap (called for every device page mapped), foreign
 * dev_pagemap callbacks and no owner. Bad spans of populate_mm and
 * migration give -EINVAL, the allocation released; a region without
 * populate_mm gives -EOPNOTSUPP.
 */
static void hostile_pagemap_bad_args(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct test_vram *vram = test_vram_create(test, gpu);
	unsigned long addr = mmap_rw(test, SZ_64K);
	struct dev_pagemap foreign = vram->pagemap, ownerless = vram->pagemap;
	struct drm_pagemap dpagemap;
	struct test_vram_alloc *alloc;
	struct mm_struct *mm = current->mm;
	unsigned long top = ULONG_MAX & PAGE_MASK;

	KUNIT_EXPECT_EQ(test, drm_pagemap_init(&dpagemap, &vram->pagemap,
					       vram->dpagemap.dev, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(&dpagemap, &vram->pagemap,
					       vram->dpagemap.dev,
					       &no_device_map_ops), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(&dpagemap, &vram->pagemap,
					       vram->dpagemap.dev,
					       &no_device_unmap_ops), -EINVAL);
	foreign.ops = &foreign_pagemap_ops;
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(&dpagemap, &foreign,
					       vram->dpagemap.dev,
					       &no_populate_mm_ops), -EINVAL);
	ownerless.owner = NULL;
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(&dpagemap, &ownerless,
					       vram->dpagemap.dev,
					       &no_populate_mm_ops), -EINVAL);
	KUNIT_ASSERT_EQ(test, drm_pagemap_init(&dpagemap, &vram->pagemap,
					       vram->dpagemap.dev,
					       &no_populate_mm_ops), 0);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&dpagemap, addr,
						      addr + SZ_64K, mm, 0),
			-EOPNOTSUPP);
	drm_pagemap_put(&dpagemap);
	drm_pagemap_put(NULL);
	KUNIT_EXPECT_NULL(test, drm_pagemap_get(NULL));

	/* Spans: empty, reversed, unaligned, wrapping. */
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap, addr,
						      addr, mm, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap,
						      addr + SZ_64K, addr, mm,
						      0), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap, addr + 1,
						      addr + SZ_64K, mm, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap, top, 0,
						      mm, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->allocations), 0);

	alloc = test_vram_alloc(vram, mm, SZ_64K);
	KUNIT_ASSERT_NOT_NULL(test, alloc);
	mmap_read_lock(mm);
	KUNIT_EXPECT_EQ(test, drm_pagemap_migrate_to_devmem(&alloc->devmem, mm,
							    top, 0, 0,
							    vram->pagemap.owner),
			-EINVAL);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->allocations), 0);
	/* An allocation that never held a page evicts at once. */
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
	test_vram_expect_clean(vram);
	test_gpu_expect_clean(gpu);
}

/*
 * Genuine caller bugs of migration warn once: the wrong owner (released,
 * -EINVAL), a timeslice over the maximum (clamped, it migrates), and a
 * second migration into an allocation that holds pages (-EINVAL, the
 * allocation untouched).
 */
static void hostile_migrate_caller_bugs_warn(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct test_vram *vram = test_vram_create(test, gpu);
	unsigned long addr = mmap_rw(test, SZ_128K);
	struct mm_struct *mm = current->mm;
	struct test_vram_alloc *alloc;

	test_fill_user(test, addr, SZ_128K, 3);
	expect_warn(test, PAGEMAP_SRC);

	alloc = test_vram_alloc(vram, mm, SZ_64K);
	KUNIT_ASSERT_NOT_NULL(test, alloc);
	mmap_read_lock(mm);
	KUNIT_EXPECT_EQ(test, drm_pagemap_migrate_to_devmem(&alloc->devmem, mm,
							    addr, addr + SZ_64K,
							    0, vram), -EINVAL);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->allocations), 0);

	KUNIT_ASSERT_EQ(test, test_vram_migrate(vram, mm, addr, addr + SZ_64K,
						DRM_PAGEMAP_TIMESLICE_MAX_MS + 1,
						&alloc), 0);
	KUNIT_EXPECT_TRUE(test, test_vram_is_device_page(vram, mm, addr));
	KUNIT_EXPECT_FALSE(test, time_after(alloc->devmem.timeslice_expiration,
					    jiffies +
					    msecs_to_jiffies(DRM_PAGEMAP_TIMESLICE_MAX_MS)));

	mmap_read_lock(mm);
	KUNIT_EXPECT_EQ(test, drm_pagemap_migrate_to_devmem(&alloc->devmem, mm,
							    addr + SZ_64K,
							    addr + SZ_128K, 0,
							    vram->pagemap.owner),
			-EINVAL);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_FALSE(test, completion_done(&alloc->devmem.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->allocations), 1);

	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
	test_expect_data(test, NULL, addr, SZ_128K, 3);
	test_vram_expect_clean(vram);
	test_gpu_expect_clean(gpu);
}

static struct kunit_case drm_gpusvm_hostile_cases[] = {
	KUNIT_CASE(hostile_spans_rejected),
	KUNIT_CASE(hostile_huge_span_enomem),
	KUNIT_CASE(hostile_removed_range_through_reference),
	KUNIT_CASE(hostile_fini_with_waiters_and_references),
	KUNIT_CASE(hostile_no_garbage_collector),
	KUNIT_CASE(hostile_mm_exits_mid_fault),
	KUNIT_CASE(hostile_alloc_hooks_return_err_ptr),
	KUNIT_CASE(hostile_wrong_lock_warns),
	KUNIT_CASE(hostile_pagemap_bad_args),
	KUNIT_CASE(hostile_migrate_caller_bugs_warn),
	{}
};

static struct kunit_suite drm_gpusvm_hostile_suite = {
	.name = "drm_gpusvm_hostile",
	.test_cases = drm_gpusvm_hostile_cases,
};

kunit_test_suite(drm_gpusvm_hostile_suite);

MODULE_DESCRIPTION("Tests of careless callers of the DRM GPU SVM helpers");
MODULE_LICENSE("GPL");
