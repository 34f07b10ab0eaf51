// SPDX-License-Identifier: GPL-2.0-only
/*
 * The test GPU of the GPU SVM KUnit suites.
 *
 * It is a driver in miniature: an invalidate callback that honours the
 * driver contract (zap, unmap pages, mark unmapped, queue for garbage
 * collection), a garbage collector and a fault handler written as the
 * bounded retry loop of the contract. Its hooks count what it allocates so
 * that every case can end by asserting that nothing leaked.
 */

#include <kunit/device.h>
#include <kunit/resource.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>

#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include <drm/drm_device.h>
#include <drm/drm_kunit_helpers.h>
#include <drm/drm_pagemap.h>

#include "../drm_gpusvm_inject.h"
#include "drm_gpusvm_test_gpu.h"

/* Bounds of the fault loop and of the refaults of one GPU access. */
#define TEST_GPU_FAULT_TRIES	16
#define TEST_GPU_ACCESS_TRIES	16

#define TEST_GPU_PTE_READ_ONLY	BIT(0)

/* Live notifiers of all test GPUs; notifier_alloc() has no instance. */
atomic_t test_gpu_notifiers = ATOMIC_INIT(0);

const unsigned long test_gpu_chunk_sizes[3] = { SZ_2M, SZ_64K, SZ_4K };

static struct test_gpu *to_test_gpu(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct test_gpu, gpusvm);
}

static struct test_gpu_range *to_test_range(struct drm_gpusvm_range *range)
{
	return container_of(range, struct test_gpu_range, base);
}

const char *const test_op_names[TEST_OP_COUNT] = {
	[TEST_OP_NOTIFIER_ALLOC] = "notifier_alloc",
	[TEST_OP_RANGE_ALLOC] = "range_alloc",
	[TEST_OP_DEVICE_MAP] = "device_map",
	[TEST_OP_POPULATE_MM] = "populate_mm",
	[TEST_OP_POPULATE_DEVMEM_PFN] = "populate_devmem_pfn",
	[TEST_OP_COPY_TO_DEVMEM] = "copy_to_devmem",
	[TEST_OP_COPY_TO_RAM] = "copy_to_ram",
};

/*
 * Fault injection in the driver callbacks of every test GPU and test VRAM:
 * the calls of each callback are counted, and the @nth call of one of them
 * from test_op_fail() on fails with @err. Device maps run under the notifier
 * lock, so only atomics here.
 */
static struct {
	atomic_t calls[TEST_OP_COUNT];
	atomic_t countdown;
	int op;
	int err;
} test_op_inject = { .op = -1 };

/**
 * test_op_fail() - Make the @nth call of a driver callback fail from now on
 * @op: The callback.
 * @nth: Which call, counting from 1 (0 disarms).
 * @err: The error it returns (pointer results fail with NULL or
 *	%DMA_MAPPING_ERROR whatever @err).
 *
 * The call counts restart from zero.
 */
void test_op_fail(enum test_op op, unsigned int nth, int err)
{
	test_op_reset();
	WRITE_ONCE(test_op_inject.op, op);
	WRITE_ONCE(test_op_inject.err, err);
	atomic_set(&test_op_inject.countdown, nth);
}

/**
 * test_op_reset() - Disarm the callback failure and clear the call counts
 */
void test_op_reset(void)
{
	int i;

	atomic_set(&test_op_inject.countdown, 0);
	WRITE_ONCE(test_op_inject.op, -1);
	for (i = 0; i < TEST_OP_COUNT; i++)
		atomic_set(&test_op_inject.calls[i], 0);
}

/**
 * test_op_calls() - Calls of a driver callback since the last reset
 * @op: The callback.
 *
 * Returns: The number of calls.
 */
unsigned int test_op_calls(enum test_op op)
{
	return atomic_read(&test_op_inject.calls[op]);
}

/**
 * test_op_pending() - Whether the armed failure has not happened yet
 *
 * Returns: true if test_op_fail() asked for a call that was not made.
 */
bool test_op_pending(void)
{
	return atomic_read(&test_op_inject.countdown) > 0;
}

/**
 * test_op_call() - Count a call of a driver callback, maybe failing it
 * @op: The callback being called.
 *
 * Returns: 0 to go on, or the error the call must fail with.
 */
int test_op_call(enum test_op op)
{
	atomic_inc(&test_op_inject.calls[op]);
	if (READ_ONCE(test_op_inject.op) == op &&
	    atomic_dec_if_positive(&test_op_inject.countdown) == 0)
		return READ_ONCE(test_op_inject.err) ?: -ENOMEM;
	return 0;
}

/*
 * The countdown of the helpers' own fault-injection sites in the case's
 * thread: set to N, the N-th site reached from then on fails, as with the
 * task's fail-nth. Unlike fail-nth it counts nothing else, so that failslab
 * and fail_page_alloc built in (the debug configuration) change no count.
 */
unsigned int test_fail_nth;

static bool test_should_fail(size_t size)
{
	return test_fail_nth && !--test_fail_nth;
}

/**
 * test_fail_nth_init() - Let test_fail_nth fail the helpers' sites in a case
 * @test: The case; skipped without %CONFIG_DRM_GPUSVM_FAULT_INJECTION.
 *
 * Redirects drm_gpusvm_should_fail() in the case's thread to test_fail_nth
 * until the case ends.
 */
void test_fail_nth_init(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_DRM_GPUSVM_FAULT_INJECTION))
		kunit_skip(test, "needs CONFIG_DRM_GPUSVM_FAULT_INJECTION");
	test_fail_nth = 0;
	kunit_activate_static_stub(test, drm_gpusvm_should_fail,
				   test_should_fail);
}

/* Set to make the next notifier allocation of any test GPU fail. */
bool test_gpu_fail_notifier_alloc;

static struct drm_gpusvm_notifier *test_gpu_notifier_alloc(void)
{
	struct drm_gpusvm_notifier *notifier;

	if (test_gpu_fail_notifier_alloc) {
		test_gpu_fail_notifier_alloc = false;
		return NULL;
	}
	if (test_op_call(TEST_OP_NOTIFIER_ALLOC))
		return NULL;

	notifier = kzalloc(sizeof(*notifier), GFP_KERNEL);
	if (notifier)
		atomic_inc(&test_gpu_notifiers);
	return notifier;
}

static void test_gpu_notifier_free(struct drm_gpusvm_notifier *notifier)
{
	atomic_dec(&test_gpu_notifiers);
	kfree(notifier);
}

static struct drm_gpusvm_range *test_gpu_range_alloc(struct drm_gpusvm *gpusvm)
{
	struct test_gpu *gpu = to_test_gpu(gpusvm);
	struct test_gpu_range *range;

	if (gpu->fail_range_alloc) {
		gpu->fail_range_alloc = false;
		return NULL;
	}
	if (test_op_call(TEST_OP_RANGE_ALLOC))
		return NULL;

	range = kzalloc(sizeof(*range), GFP_KERNEL);
	if (!range)
		return NULL;

	INIT_LIST_HEAD(&range->gc_link);
	atomic_inc(&gpu->ranges);
	return &range->base;
}

static void test_gpu_range_free(struct drm_gpusvm_range *range)
{
	struct test_gpu *gpu = to_test_gpu(range->gpusvm);

	/* Freeing a range that still holds DMA mappings leaks them. */
	if (range->pages.flags.has_dma_mapping || range->pages.dma_addr)
		atomic_inc(&gpu->leaked_dma);
	atomic_dec(&gpu->ranges);
	kfree(to_test_range(range));
}

/* Remove the GPU page-table entries of [start, end). */
static void test_gpu_zap(struct test_gpu *gpu, unsigned long start,
			 unsigned long end)
{
	unsigned long index;
	void *entry;

	xa_for_each_range(&gpu->pt, index, entry, start >> PAGE_SHIFT,
			  (end >> PAGE_SHIFT) - 1)
		xa_erase(&gpu->pt, index);
}

/* The garbage collector's list holds a reference on each queued range. */
static void test_gpu_queue_gc(struct test_gpu *gpu,
			      struct drm_gpusvm_range *range)
{
	struct test_gpu_range *r = to_test_range(range);

	spin_lock(&gpu->gc_lock);
	if (!r->removed && list_empty(&r->gc_link)) {
		drm_gpusvm_range_get(range);
		list_add_tail(&r->gc_link, &gpu->gc_list);
	}
	spin_unlock(&gpu->gc_lock);
}

static void test_gpu_invalidate(struct drm_gpusvm *gpusvm,
				struct drm_gpusvm_notifier *notifier,
				const struct mmu_notifier_range *mmu_range)
{
	struct test_gpu *gpu = to_test_gpu(gpusvm);
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct drm_gpusvm_range *range;

	atomic_inc(&gpu->invalidations);
	WRITE_ONCE(gpu->last_event, mmu_range->event);
	WRITE_ONCE(gpu->last_owner, mmu_range->owner);
	drm_gpusvm_for_each_range(range, notifier, mmu_range->start,
				  mmu_range->end) {
		/* The pages of the whole range go: so do all its GPU PTEs. */
		test_gpu_zap(gpu, drm_gpusvm_range_start(range),
			     drm_gpusvm_range_end(range));
		drm_gpusvm_range_unmap_pages(gpusvm, range, &ctx);
		if (mmu_range->event == MMU_NOTIFY_UNMAP) {
			drm_gpusvm_range_set_unmapped(range, mmu_range);
			test_gpu_queue_gc(gpu, range);
		}
	}
}

static const struct drm_gpusvm_ops test_gpu_ops = {
	.notifier_alloc = test_gpu_notifier_alloc,
	.notifier_free = test_gpu_notifier_free,
	.range_alloc = test_gpu_range_alloc,
	.range_free = test_gpu_range_free,
	.invalidate = test_gpu_invalidate,
};

/**
 * test_gpu_garbage_collect() - Remove the ranges the CPU unmapped
 * @gpu: The test GPU, its lock held.
 */
void test_gpu_garbage_collect(struct test_gpu *gpu)
{
	struct test_gpu_range *range;

	lockdep_assert_held(&gpu->lock);

	spin_lock(&gpu->gc_lock);
	while ((range = list_first_entry_or_null(&gpu->gc_list,
						 struct test_gpu_range,
						 gc_link))) {
		list_del_init(&range->gc_link);
		/* An invalidation that still finds it must not queue it again. */
		range->removed = true;
		spin_unlock(&gpu->gc_lock);

		/* drm_gpusvm_fini() already removed every range. */
		if (!gpu->fini_done)
			drm_gpusvm_range_remove(&gpu->gpusvm, &range->base);
		drm_gpusvm_range_put(&range->base);

		spin_lock(&gpu->gc_lock);
	}
	spin_unlock(&gpu->gc_lock);
}

static unsigned long test_gpu_pte(unsigned long pfn, bool read_only)
{
	return pfn << 1 | (read_only ? TEST_GPU_PTE_READ_ONLY : 0);
}

/* Reserve the page-table slots of a range so the commit does not allocate. */
static int test_gpu_reserve(struct test_gpu *gpu,
			    struct drm_gpusvm_range *range)
{
	unsigned long index = drm_gpusvm_range_start(range) >> PAGE_SHIFT;
	unsigned long end = drm_gpusvm_range_end(range) >> PAGE_SHIFT;
	int err;

	for (; index < end; index++) {
		err = xa_reserve(&gpu->pt, index, GFP_KERNEL);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Write the GPU PTEs of a range; driver lock and notifier lock held, pages
 * valid. Each PTE takes its access from the entry's direction: the library
 * decides what the GPU may write.
 */
static void test_gpu_commit(struct test_gpu *gpu,
			    struct drm_gpusvm_range *range)
{
	unsigned long index = drm_gpusvm_range_start(range) >> PAGE_SHIFT;
	unsigned long end = drm_gpusvm_range_end(range) >> PAGE_SHIFT;
	struct drm_pagemap_addr *addr = range->pages.dma_addr;
	unsigned long i, npages, pfn;
	bool read_only;

	lockdep_assert_held(&gpu->lock);
	lockdep_assert_held(&gpu->gpusvm.notifier_lock);

	for (; index < end; index += npages, addr++) {
		npages = 1UL << addr->order;
		pfn = PHYS_PFN(test_dma_to_phys(gpu->drm->dev, addr->addr));
		read_only = addr->dir == DMA_TO_DEVICE;
		for (i = 0; i < npages; i++)
			xa_store(&gpu->pt, index + i,
				 xa_mk_value(test_gpu_pte(pfn + i, read_only)),
				 GFP_NOWAIT);
	}
}

/* Zap a range's PTEs, then let its mapping go: never the other way round. */
static void test_gpu_unmap_range(struct test_gpu *gpu,
				 struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_ctx ctx = {};

	down_write(&gpu->gpusvm.notifier_lock);
	test_gpu_zap(gpu, drm_gpusvm_range_start(range),
		     drm_gpusvm_range_end(range));
	up_write(&gpu->gpusvm.notifier_lock);
	drm_gpusvm_range_unmap_pages(&gpu->gpusvm, range, &ctx);
}

/**
 * test_gpu_fault() - Handle a GPU page fault the way a driver does
 * @gpu: The test GPU.
 * @addr: Faulting GPU (= CPU) virtual address.
 * @write: The GPU wants to write.
 *
 * The bounded retry loop of the driver contract: garbage-collect, find or
 * insert the range, get its pages (evicting the range when its pages cannot
 * be mapped together, zapping and unmapping it when it is mapped for another
 * access), then commit the GPU PTEs under the notifier lock if the pages are
 * still valid.
 *
 * Returns: 0 when the range is mapped, the helpers' error code otherwise.
 */
int test_gpu_fault(struct test_gpu *gpu, unsigned long addr, bool write)
{
	struct drm_gpusvm_range *range;
	int tries, err = -EAGAIN;

	if (write && gpu->ctx.read_only)
		return -EPERM;

	for (tries = 0; tries < TEST_GPU_FAULT_TRIES; tries++) {
		mutex_lock(&gpu->lock);
		test_gpu_garbage_collect(gpu);

		range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, addr,
							gpu->gpuva_start,
							gpu->gpuva_end,
							&gpu->ctx);
		if (IS_ERR(range)) {
			mutex_unlock(&gpu->lock);
			return PTR_ERR(range);
		}

		/* Placement is advice: the fault goes on wherever pages are. */
		if (gpu->migrate && range->flags.migrate_devmem)
			gpu->migrate(gpu, range);

		err = drm_gpusvm_range_get_pages(&gpu->gpusvm, range,
						 &gpu->ctx);
		if (err == -EEXIST) {
			/* Mapped for another access: zap, unmap, retry. */
			test_gpu_unmap_range(gpu, range);
			mutex_unlock(&gpu->lock);
			continue;
		}
		if (err == -EOPNOTSUPP) {
			/* Pages the GPU cannot map together: evict, retry. */
			err = drm_gpusvm_range_evict(&gpu->gpusvm, range);
			mutex_unlock(&gpu->lock);
			if (err)
				return err;
			continue;
		}
		if (!err)
			err = test_gpu_reserve(gpu, range);
		if (!err) {
			drm_gpusvm_notifier_lock(&gpu->gpusvm);
			if (drm_gpusvm_range_pages_valid(&gpu->gpusvm, range))
				test_gpu_commit(gpu, range);
			else
				err = -EAGAIN;
			drm_gpusvm_notifier_unlock(&gpu->gpusvm);
		}
		mutex_unlock(&gpu->lock);

		/* Unmapped or invalidated meanwhile: collect and go round. */
		if (err != -EAGAIN && err != -EFAULT && err != -EBUSY)
			return err;
	}

	return err;
}

/*
 * One GPU access to one page. The notifier lock is held across the copy:
 * an invalidation (which takes it for write) waits for the access like it
 * waits for a real GPU's TLB flush, so the GPU never touches a page after
 * its invalidation. A write through a read-only PTE is a write fault, as on
 * a real GPU: the driver then asks the library for a writable mapping.
 */
static int test_gpu_access_page(struct test_gpu *gpu, unsigned long addr,
				void *buf, size_t len, bool write)
{
	struct page *page;
	unsigned long pte;
	void *entry, *vaddr;
	int tries, err;

	for (tries = 0; tries < TEST_GPU_ACCESS_TRIES; tries++) {
		drm_gpusvm_notifier_lock(&gpu->gpusvm);
		entry = xa_load(&gpu->pt, addr >> PAGE_SHIFT);
		pte = xa_is_value(entry) ? xa_to_value(entry) : 0;
		if (xa_is_value(entry) &&
		    !(write && (pte & TEST_GPU_PTE_READ_ONLY))) {
			page = pfn_to_page(pte >> 1);
			vaddr = kmap_local_page(page);
			if (write)
				memcpy(vaddr + offset_in_page(addr), buf, len);
			else
				memcpy(buf, vaddr + offset_in_page(addr), len);
			kunmap_local(vaddr);
			drm_gpusvm_notifier_unlock(&gpu->gpusvm);
			return 0;
		}
		drm_gpusvm_notifier_unlock(&gpu->gpusvm);

		err = test_gpu_fault(gpu, addr, write);
		if (err)
			return err;
	}

	return -EAGAIN;
}

static int test_gpu_access(struct test_gpu *gpu, unsigned long addr,
			   void *buf, size_t len, bool write)
{
	size_t chunk;
	int err;

	for (; len; addr += chunk, buf += chunk, len -= chunk) {
		chunk = min_t(size_t, len, PAGE_SIZE - offset_in_page(addr));
		err = test_gpu_access_page(gpu, addr, buf, chunk, write);
		if (err)
			return err;
	}
	return 0;
}

/**
 * test_gpu_read() - Read through the GPU page table, faulting as needed
 * @gpu: The test GPU.
 * @addr: GPU virtual address.
 * @buf: Destination.
 * @len: Number of bytes.
 *
 * Returns: 0, or the error of the GPU fault that could not be served.
 */
int test_gpu_read(struct test_gpu *gpu, unsigned long addr, void *buf,
		  size_t len)
{
	return test_gpu_access(gpu, addr, buf, len, false);
}

/**
 * test_gpu_write() - Write through the GPU page table, faulting as needed
 * @gpu: The test GPU.
 * @addr: GPU virtual address.
 * @buf: Source.
 * @len: Number of bytes.
 *
 * Returns: 0, -EPERM through a read-only mapping, or the error of the GPU
 * fault that could not be served.
 */
int test_gpu_write(struct test_gpu *gpu, unsigned long addr, const void *buf,
		   size_t len)
{
	return test_gpu_access(gpu, addr, (void *)buf, len, true);
}

/**
 * test_gpu_mapped() - Whether the GPU page table maps an address
 * @gpu: The test GPU.
 * @addr: GPU virtual address.
 *
 * Returns: true if a GPU access to @addr would not fault.
 */
bool test_gpu_mapped(struct test_gpu *gpu, unsigned long addr)
{
	return xa_is_value(xa_load(&gpu->pt, addr >> PAGE_SHIFT));
}

/**
 * test_gpu_range_at() - The range covering an address, if any
 * @gpu: The test GPU.
 * @addr: CPU virtual address.
 *
 * Returns: The range (no reference taken), or NULL.
 */
struct drm_gpusvm_range *test_gpu_range_at(struct test_gpu *gpu,
					   unsigned long addr)
{
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range = NULL;

	mutex_lock(&gpu->lock);
	notifier = drm_gpusvm_notifier_find(&gpu->gpusvm, addr, addr + 1);
	if (notifier)
		range = drm_gpusvm_range_find(notifier, addr, addr + 1);
	mutex_unlock(&gpu->lock);
	return range;
}

/**
 * test_gpu_scan_mm() - drm_gpusvm_scan_mm() under the driver lock
 * @gpu: The test GPU of @range.
 * @range: The range.
 * @owner: Device-private owner whose pages are seen as such.
 * @pagemap: The pagemap to compare with, or NULL.
 *
 * Returns: drm_gpusvm_scan_mm()'s result.
 */
enum drm_gpusvm_scan_result test_gpu_scan_mm(struct test_gpu *gpu,
					     struct drm_gpusvm_range *range,
					     void *owner,
					     const struct drm_pagemap *pagemap)
{
	enum drm_gpusvm_scan_result result;

	mutex_lock(&gpu->lock);
	result = drm_gpusvm_scan_mm(range, owner, pagemap);
	mutex_unlock(&gpu->lock);
	return result;
}

/**
 * test_gpu_range_evict() - drm_gpusvm_range_evict() under the driver lock
 * @gpu: The test GPU of @range.
 * @range: The range.
 *
 * Returns: drm_gpusvm_range_evict()'s result.
 */
int test_gpu_range_evict(struct test_gpu *gpu, struct drm_gpusvm_range *range)
{
	int err;

	mutex_lock(&gpu->lock);
	err = drm_gpusvm_range_evict(&gpu->gpusvm, range);
	mutex_unlock(&gpu->lock);
	return err;
}

/**
 * test_gpu_has_mapping() - drm_gpusvm_has_mapping() under the driver lock
 * @gpu: The test GPU.
 * @start: Start of the span.
 * @end: End of the span.
 *
 * Returns: Whether a range overlaps [@start, @end).
 */
bool test_gpu_has_mapping(struct test_gpu *gpu, unsigned long start,
			  unsigned long end)
{
	bool ret;

	mutex_lock(&gpu->lock);
	ret = drm_gpusvm_has_mapping(&gpu->gpusvm, start, end);
	mutex_unlock(&gpu->lock);
	return ret;
}

/**
 * test_gpu_has_notifier() - Whether a notifier overlaps a span
 * @gpu: The test GPU.
 * @start: Start of the span.
 * @end: End of the span.
 *
 * Returns: Whether drm_gpusvm_notifier_find() finds one, under the driver
 * lock.
 */
bool test_gpu_has_notifier(struct test_gpu *gpu, unsigned long start,
			   unsigned long end)
{
	bool ret;

	mutex_lock(&gpu->lock);
	ret = drm_gpusvm_notifier_find(&gpu->gpusvm, start, end);
	mutex_unlock(&gpu->lock);
	return ret;
}

/**
 * test_gpu_dma_entries() - Count the live DMA entries of every range
 * @gpu: The test GPU.
 *
 * Returns: The number of &drm_pagemap_addr entries mapped right now.
 */
unsigned long test_gpu_dma_entries(struct test_gpu *gpu)
{
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;
	unsigned long count = 0, npages, i, j;

	mutex_lock(&gpu->lock);
	drm_gpusvm_notifier_lock(&gpu->gpusvm);
	drm_gpusvm_for_each_notifier(notifier, &gpu->gpusvm, 0, ULONG_MAX) {
		drm_gpusvm_for_each_range(range, notifier, 0, ULONG_MAX) {
			if (!range->pages.flags.has_dma_mapping)
				continue;
			npages = drm_gpusvm_range_size(range) >> PAGE_SHIFT;
			for (i = 0, j = 0; i < npages; j++, count++)
				i += 1UL << range->pages.dma_addr[j].order;
		}
	}
	drm_gpusvm_notifier_unlock(&gpu->gpusvm);
	mutex_unlock(&gpu->lock);
	return count;
}

/**
 * test_gpu_remove_all_ranges() - Unmap the GPU and remove every range
 * @gpu: The test GPU.
 *
 * What a driver does when it drops a GPU VM's SVM mappings: zap the GPU page
 * table first, so no PTE outlives the pages, then remove the ranges.
 */
void test_gpu_remove_all_ranges(struct test_gpu *gpu)
{
	struct drm_gpusvm_notifier *notifier, *next_notifier;
	struct drm_gpusvm_range *range, *next;

	mutex_lock(&gpu->lock);
	down_write(&gpu->gpusvm.notifier_lock);
	test_gpu_zap(gpu, 0, ULONG_MAX & PAGE_MASK);
	up_write(&gpu->gpusvm.notifier_lock);

	drm_gpusvm_for_each_notifier_safe(notifier, next_notifier,
					  &gpu->gpusvm, 0, ULONG_MAX)
		drm_gpusvm_for_each_range_safe(range, next, notifier, 0,
					       ULONG_MAX)
			drm_gpusvm_range_remove(&gpu->gpusvm, range);
	mutex_unlock(&gpu->lock);
}

/**
 * test_gpu_fini() - Tear the GPU SVM instance down (idempotent)
 * @gpu: The test GPU.
 */
void test_gpu_fini(struct test_gpu *gpu)
{
	mutex_lock(&gpu->lock);
	if (!gpu->fini_done) {
		drm_gpusvm_fini(&gpu->gpusvm);
		gpu->fini_done = true;
	}
	test_gpu_garbage_collect(gpu);
	mutex_unlock(&gpu->lock);
	xa_destroy(&gpu->pt);
}

/**
 * test_gpus_expect_clean() - Tear several GPUs down and expect nothing leaked
 * @gpus: The test GPUs, all that are alive, in creation order.
 * @n: Number of @gpus.
 *
 * Every range and notifier freed, no range freed with DMA mappings, and
 * mm_users back to what it was before the first GPU existed. (mm_count is
 * not checked: lazy TLB switches of other kthreads borrow it at any time.)
 */
void test_gpus_expect_clean(struct test_gpu **gpus, unsigned int n)
{
	struct kunit *test = gpus[0]->test;
	unsigned int i;

	for (i = 0; i < n; i++)
		test_gpu_fini(gpus[i]);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, atomic_read(&gpus[i]->ranges), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&gpus[i]->leaked_dma), 0);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&gpus[0]->mm->mm_users),
			gpus[0]->mm_users);
}

/**
 * test_gpu_expect_clean() - Tear down and expect nothing leaked
 * @gpu: The test GPU, the only one alive.
 */
void test_gpu_expect_clean(struct test_gpu *gpu)
{
	test_gpus_expect_clean(&gpu, 1);
}

static void test_gpu_release(void *data)
{
	struct test_gpu *gpu = data;

	test_gpu_fini(gpu);
	mutex_destroy(&gpu->lock);
}

/**
 * test_mmap_file() - Map into the test thread's mm, asserting success
 * @test: The KUnit case.
 * @file: File to map, or NULL for anonymous memory.
 * @len: Length.
 * @prot: PROT_* bits.
 * @flags: MAP_* flags.
 *
 * Returns: The address of the new mapping (unmapped when the case ends).
 */
unsigned long test_mmap_file(struct kunit *test, struct file *file,
			     unsigned long len, unsigned long prot,
			     unsigned long flags)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, file, 0, len, prot, flags, 0);
	KUNIT_ASSERT_NE(test, addr, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr), "vm_mmap: %ld",
			       (long)addr);
	return addr;
}

/**
 * test_mmap() - Map anonymous memory into the test thread's mm
 * @test: The KUnit case.
 * @len: Length.
 * @prot: PROT_* bits.
 * @flags: MAP_* flags (MAP_ANONYMOUS is added).
 *
 * Returns: The address of the new mapping.
 */
unsigned long test_mmap(struct kunit *test, unsigned long len,
			unsigned long prot, unsigned long flags)
{
	return test_mmap_file(test, NULL, len, prot, flags | MAP_ANONYMOUS);
}

/**
 * test_dma_to_phys() - The physical address a device reaches at a DMA address
 * @dev: The device.
 * @addr: A DMA address mapped for @dev.
 *
 * The test devices read and write memory the way the device would: through
 * its IOMMU's translation if it sits behind one, by direct DMA otherwise.
 *
 * Returns: The physical address.
 */
phys_addr_t test_dma_to_phys(struct device *dev, dma_addr_t addr)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return domain ? iommu_iova_to_phys(domain, addr) :
			dma_to_phys(dev, addr);
}

/**
 * test_pattern() - The byte test_fill_user() writes at an offset
 * @seed: Seed of the pattern.
 * @i: Offset from the start of the fill.
 *
 * Returns: The byte.
 */
u8 test_pattern(u8 seed, unsigned long i)
{
	return seed + i * 7;
}

/**
 * test_fill_user() - Write a pattern through the CPU mapping
 * @test: The KUnit case.
 * @addr: CPU virtual address in the test thread's mm.
 * @len: Number of bytes.
 * @seed: Seed of the pattern.
 */
void test_fill_user(struct kunit *test, unsigned long addr, size_t len,
		    u8 seed)
{
	u8 *buf = kunit_kmalloc(test, len, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < len; i++)
		buf[i] = test_pattern(seed, i);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, buf, len), 0);
	kunit_kfree(test, buf);
}

/**
 * test_expect_data() - Expect a read to return what test_fill_user() wrote
 * @test: The KUnit case.
 * @gpu: The test GPU that reads, or NULL for the CPU.
 * @addr: Virtual address.
 * @len: Number of bytes.
 * @seed: Seed of the pattern expected at @addr.
 */
void test_expect_data(struct kunit *test, struct test_gpu *gpu,
		      unsigned long addr, size_t len, u8 seed)
{
	u8 *buf = kunit_kzalloc(test, len, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	if (gpu)
		KUNIT_ASSERT_EQ(test, test_gpu_read(gpu, addr, buf, len), 0);
	else
		KUNIT_ASSERT_EQ(test, copy_from_user(buf, (void __user *)addr,
						     len), 0);
	for (i = 0; i < len; i++)
		if (buf[i] != test_pattern(seed, i))
			break;
	KUNIT_EXPECT_EQ_MSG(test, i, len, "%s read differs at %#lx",
			    gpu ? "GPU" : "CPU", addr + i);
	kunit_kfree(test, buf);
}

static bool test_userptr_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct test_userptr *up = container_of(mni, struct test_userptr,
					       notifier);
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };

	if (!mmu_notifier_range_blockable(range))
		return false;

	down_write(&up->gpusvm.notifier_lock);
	mmu_interval_set_seq(mni, cur_seq);
	drm_gpusvm_unmap_pages(&up->gpusvm, &up->pages, up->npages, &ctx);
	up->invalidations++;
	up_write(&up->gpusvm.notifier_lock);
	return true;
}

static const struct mmu_interval_notifier_ops test_userptr_ops = {
	.invalidate = test_userptr_invalidate,
};

/**
 * test_userptr_create() - A userptr of the test GPU's device
 * @test: The KUnit case.
 * @gpu: The test GPU whose device maps the pages.
 * @addr: Start of the span (page aligned).
 * @size: Size of the span.
 *
 * A pages-only instance and an interval notifier over [@addr, @addr + @size)
 * of the test thread's mm. The case removes the notifier, frees the pages
 * and finalises the instance itself.
 *
 * Returns: The userptr (the case is aborted on failure).
 */
struct test_userptr *test_userptr_create(struct kunit *test,
					 struct test_gpu *gpu,
					 unsigned long addr,
					 unsigned long size)
{
	struct test_userptr *up = kunit_kzalloc(test, sizeof(*up), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, up);
	up->npages = size >> PAGE_SHIFT;
	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&up->gpusvm, "userptr", gpu->drm,
					      NULL, 0, 0, 0, NULL, NULL, 0), 0);
	KUNIT_ASSERT_EQ(test, mmu_interval_notifier_insert(&up->notifier,
							   current->mm, addr,
							   size,
							   &test_userptr_ops), 0);
	return up;
}

static atomic_t test_gpu_ids = ATOMIC_INIT(0);

/**
 * test_gpu_create_on() - A test GPU on a given DRM device
 * @test: The KUnit case.
 * @drm: The DRM device, whose &drm_device.dev maps the pages; it must
 *	outlive the case's GPU. NULL: a DRM device of the GPU's own.
 * @mm_start: Start of the mirrored window.
 * @mm_range: Size of the mirrored window.
 * @notifier_size: Notifier window size.
 * @chunk_sizes: Range sizes.
 * @num_chunks: Number of @chunk_sizes.
 *
 * As test_gpu_create(), on a device of the caller's: a PCI device behind an
 * IOMMU, say.
 *
 * Returns: The test GPU (the case is aborted on failure).
 */
struct test_gpu *test_gpu_create_on(struct kunit *test,
				    struct drm_device *drm,
				    unsigned long mm_start,
				    unsigned long mm_range,
				    unsigned long notifier_size,
				    const unsigned long *chunk_sizes,
				    int num_chunks)
{
	struct test_gpu *gpu;
	struct device *dev;
	char name[32];
	int err;

	/* The case's mm comes with its first mapping. */
	if (!current->mm)
		test_mmap(test, PAGE_SIZE, PROT_READ, MAP_PRIVATE);

	gpu = kunit_kzalloc(test, sizeof(*gpu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, gpu);
	gpu->test = test;
	gpu->mm = current->mm;

	if (drm) {
		gpu->drm = drm;
	} else {
		/* Each device has a name of its own: several may coexist. */
		snprintf(name, sizeof(name), "gpusvm-test-gpu%d",
			 atomic_inc_return(&test_gpu_ids));
		dev = kunit_device_register(test, name);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
		KUNIT_ASSERT_EQ(test, dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64)), 0);
		gpu->drm = __drm_kunit_helper_alloc_drm_device(test, dev,
							       sizeof(*gpu->drm),
							       0, 0);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, gpu->drm);
	}

	mutex_init(&gpu->lock);
	xa_init(&gpu->pt);
	spin_lock_init(&gpu->gc_lock);
	INIT_LIST_HEAD(&gpu->gc_list);
	gpu->gpuva_start = mm_start;
	gpu->gpuva_end = mm_start + mm_range;
	gpu->mm_users = atomic_read(&gpu->mm->mm_users);

	err = drm_gpusvm_init(&gpu->gpusvm, "test-gpu", gpu->drm, gpu->mm,
			      mm_start, mm_range, notifier_size, &test_gpu_ops,
			      chunk_sizes, num_chunks);
	KUNIT_ASSERT_EQ(test, err, 0);
	drm_gpusvm_driver_set_lock(&gpu->gpusvm, &gpu->lock);

	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, test_gpu_release,
							gpu), 0);
	return gpu;
}

/**
 * test_kthread_finish() - End a test kthread's work, then wait to be stopped
 * @running: Threads of the group still working, or NULL for a lone thread.
 * @done: Completed by the last thread of the group to finish (or by the lone
 *	thread); NULL for none.
 *
 * The thread must not exit before kthread_stop() is called on it, so it idles
 * here until then.
 */
void test_kthread_finish(atomic_t *running, struct completion *done)
{
	if (done && (!running || atomic_dec_and_test(running)))
		complete(done);
	while (!kthread_should_stop())
		schedule_timeout_uninterruptible(1);
}

static int test_reader_fn(void *data)
{
	struct test_reader *r = data;
	u8 *buf = kmalloc(r->len, GFP_KERNEL);
	size_t i;

	if (!buf) {
		r->err = -ENOMEM;
		goto out;
	}
	if (!r->gpu)
		kthread_use_mm(r->mm);
	do {
		if (r->gpu)
			r->err = test_gpu_read(r->gpu, r->addr, buf, r->len);
		else if (copy_from_user(buf, (void __user *)r->addr, r->len))
			r->err = -EFAULT;
		for (i = 0; !r->err && i < r->len; i++)
			if (buf[i] != test_pattern(r->seed, i))
				r->err = -EIO;
		if (r->err)
			break;
		r->reads++;
		cond_resched();
	} while (!r->once && !READ_ONCE(r->stop));
	if (!r->gpu)
		kthread_unuse_mm(r->mm);
	kfree(buf);
out:
	test_kthread_finish(NULL, &r->done);
	return 0;
}

/**
 * test_reader_stop() - Stop a reader and drop its mm reference (idempotent)
 * @r: The reader.
 */
void test_reader_stop(struct test_reader *r)
{
	if (!r->task)
		return;
	WRITE_ONCE(r->stop, true);
	kthread_stop(r->task);
	r->task = NULL;
	mmput(r->mm);
}

static void test_reader_release(void *data)
{
	test_reader_stop(data);
}

/**
 * test_reader_start() - Start a kthread reading a pattern back
 * @test: The KUnit case; the reader is stopped when it ends at the latest.
 * @mm: The test thread's mm.
 * @gpu: The test GPU that reads, or NULL for the CPU.
 * @addr: Start of the span to read.
 * @len: Length of the span.
 * @seed: Seed of the pattern expected at @addr (see test_fill_user()).
 * @once: Read once and finish, instead of reading until stopped.
 *
 * Returns: The running reader.
 */
struct test_reader *test_reader_start(struct kunit *test,
				      struct mm_struct *mm,
				      struct test_gpu *gpu, unsigned long addr,
				      size_t len, u8 seed, bool once)
{
	struct test_reader *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->mm = mm;
	r->gpu = gpu;
	r->addr = addr;
	r->len = len;
	r->seed = seed;
	r->once = once;
	init_completion(&r->done);
	mmget(mm);
	r->task = kthread_run(test_reader_fn, r, "gpusvm-reader");
	if (IS_ERR(r->task)) {
		mmput(mm);
		KUNIT_FAIL_AND_ABORT(test, "kthread_run: %ld", PTR_ERR(r->task));
	}
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							test_reader_release,
							r), 0);
	return r;
}

/**
 * test_gpu_create() - Create a test GPU mirroring the test thread's mm
 * @test: The KUnit case.
 * @mm_start: Start of the mirrored window.
 * @mm_range: Size of the mirrored window.
 * @notifier_size: Notifier window size.
 * @chunk_sizes: Range sizes.
 * @num_chunks: Number of @chunk_sizes.
 *
 * Each test GPU is a DRM device of its own, with one GPU VM. The GPU VA
 * window starts as the mirrored window. The GPU is torn down when the case
 * ends, whatever happens.
 *
 * Returns: The test GPU (the case is aborted on failure).
 */
struct test_gpu *test_gpu_create(struct kunit *test, unsigned long mm_start,
				 unsigned long mm_range,
				 unsigned long notifier_size,
				 const unsigned long *chunk_sizes,
				 int num_chunks)
{
	return test_gpu_create_on(test, NULL, mm_start, mm_range,
				  notifier_size, chunk_sizes, num_chunks);
}

/**
 * test_gpu_create_vm() - Another GPU VM on the device of a test GPU
 * @gpu: The test GPU whose DRM device the new VM shares.
 *
 * The new VM mirrors the same mm with the default layout of
 * test_gpu_create_default() and has its own GPU SVM instance, page table,
 * driver lock and options.
 *
 * Returns: The new test GPU.
 */
struct test_gpu *test_gpu_create_vm(struct test_gpu *gpu)
{
	return test_gpu_create_on(gpu->test, gpu->drm, 0, TASK_SIZE, SZ_512M,
				  test_gpu_chunk_sizes,
				  ARRAY_SIZE(test_gpu_chunk_sizes));
}

/**
 * test_gpu_create_default() - A test GPU mirroring the whole user space
 * @test: The KUnit case.
 *
 * 512M notifiers and 2M/64K/4K chunks, as a typical driver sets up.
 *
 * Returns: The test GPU.
 */
struct test_gpu *test_gpu_create_default(struct kunit *test)
{
	return test_gpu_create(test, 0, TASK_SIZE, SZ_512M,
			       test_gpu_chunk_sizes,
			       ARRAY_SIZE(test_gpu_chunk_sizes));
}
