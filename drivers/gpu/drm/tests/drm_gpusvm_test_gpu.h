/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A test GPU for the GPU SVM KUnit suites: a DRM device, a GPU page table
 * and a fault handler written the way a driver uses the helpers.
 */

#ifndef __DRM_GPUSVM_TEST_GPU_H__
#define __DRM_GPUSVM_TEST_GPU_H__

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>

#include <drm/drm_gpusvm.h>

struct device;
struct drm_device;
struct kunit;

/**
 * struct test_gpu - An emulated GPU mirroring the test thread's mm
 *
 * "GPU accesses" go through the DMA addresses of the GPU page table
 * (test_dma_to_phys(): the page the device reaches, through its IOMMU if it
 * has one), never through the CPU virtual address, so a test sees what a
 * device would, and KASAN sees any use of a freed page.
 */
struct test_gpu {
	/** @test: The KUnit case the GPU belongs to. */
	struct kunit *test;
	/** @mm: The mirrored mm (the test thread's). */
	struct mm_struct *mm;
	/** @drm: DRM device of the GPU. */
	struct drm_device *drm;
	/** @gpusvm: The GPU SVM instance (one GPU VM). */
	struct drm_gpusvm gpusvm;
	/** @lock: Driver lock: serialises faults, range removal and teardown. */
	struct mutex lock;
	/**
	 * @pt: GPU page table: GPU page index to xa_mk_value() of the DMA
	 * page frame number shifted left once, bit 0 set for read-only. Written
	 * under the notifier lock (commit for read, zap for write); entries are
	 * reserved outside it, so storing never allocates.
	 */
	struct xarray pt;
	/** @gc_lock: Protects @gc_list (filled from the invalidate callback). */
	spinlock_t gc_lock;
	/** @gc_list: Ranges unmapped by the CPU, waiting for removal. */
	struct list_head gc_list;
	/** @gpuva_start: Start of the GPU VA window faults may map. */
	unsigned long gpuva_start;
	/** @gpuva_end: End of the GPU VA window faults may map. */
	unsigned long gpuva_end;
	/** @ctx: Options passed to every helper call of a fault. */
	struct drm_gpusvm_ctx ctx;

	/** @ranges: Ranges allocated and not yet freed. */
	atomic_t ranges;
	/** @leaked_dma: Ranges freed while still holding DMA mappings. */
	atomic_t leaked_dma;
	/** @invalidations: Calls of the invalidate callback. */
	atomic_t invalidations;
	/** @last_event: &mmu_notifier_range.event of the last invalidation. */
	int last_event;
	/** @last_owner: &mmu_notifier_range.owner of the last invalidation. */
	void *last_owner;
	/**
	 * @migrate: Placement policy (optional). Called by each fault, driver
	 * lock held, for a range that may live in device memory, before its
	 * pages are collected. Its result is advice only: the fault goes on
	 * with the pages wherever they are.
	 */
	int (*migrate)(struct test_gpu *gpu, struct drm_gpusvm_range *range);
	/** @migrate_data: For @migrate. */
	void *migrate_data;
	/** @fail_range_alloc: Make the next range allocation fail. */
	bool fail_range_alloc;

	/** @mm_users: mm_users of the mm when the GPU was created. */
	int mm_users;
	/** @fini_done: drm_gpusvm_fini() has run. */
	bool fini_done;
};

/** struct test_gpu_range - A range of the test GPU */
struct test_gpu_range {
	/** @base: The helper's range. */
	struct drm_gpusvm_range base;
	/** @gc_link: Entry in &test_gpu.gc_list, protected by its lock. */
	struct list_head gc_link;
	/** @removed: Taken off &test_gpu.gc_list for removal, under its lock. */
	bool removed;
};

/**
 * struct test_userptr - A userptr: pages without ranges
 *
 * A pages-only GPU SVM instance and the driver's own interval notifier, whose
 * callback unmaps @pages under the instance's notifier lock.
 */
struct test_userptr {
	/** @gpusvm: The pages-only instance. */
	struct drm_gpusvm gpusvm;
	/** @notifier: The interval notifier over the span. */
	struct mmu_interval_notifier notifier;
	/** @pages: The DMA state of the span. */
	struct drm_gpusvm_pages pages;
	/** @npages: Pages in the span. */
	unsigned long npages;
	/** @invalidations: Calls of the notifier callback. */
	int invalidations;
};

/**
 * enum test_op - The driver callbacks that can fail, for test_op_fail()
 *
 * @TEST_OP_NOTIFIER_ALLOC: &drm_gpusvm_ops.notifier_alloc (returns NULL).
 * @TEST_OP_RANGE_ALLOC: &drm_gpusvm_ops.range_alloc (returns NULL).
 * @TEST_OP_DEVICE_MAP: &drm_pagemap_ops.device_map (returns
 *	%DMA_MAPPING_ERROR).
 * @TEST_OP_POPULATE_MM: &drm_pagemap_ops.populate_mm.
 * @TEST_OP_POPULATE_DEVMEM_PFN: &drm_pagemap_devmem_ops.populate_devmem_pfn.
 * @TEST_OP_COPY_TO_DEVMEM: &drm_pagemap_devmem_ops.copy_to_devmem.
 * @TEST_OP_COPY_TO_RAM: &drm_pagemap_devmem_ops.copy_to_ram.
 * @TEST_OP_COUNT: Number of callbacks.
 */
enum test_op {
	TEST_OP_NOTIFIER_ALLOC,
	TEST_OP_RANGE_ALLOC,
	TEST_OP_DEVICE_MAP,
	TEST_OP_POPULATE_MM,
	TEST_OP_POPULATE_DEVMEM_PFN,
	TEST_OP_COPY_TO_DEVMEM,
	TEST_OP_COPY_TO_RAM,
	TEST_OP_COUNT,
};

extern const char *const test_op_names[TEST_OP_COUNT];

void test_op_fail(enum test_op op, unsigned int nth, int err);
void test_op_reset(void);
unsigned int test_op_calls(enum test_op op);
bool test_op_pending(void);
int test_op_call(enum test_op op);

extern unsigned int test_fail_nth;
void test_fail_nth_init(struct kunit *test);

extern atomic_t test_gpu_notifiers;
extern bool test_gpu_fail_notifier_alloc;
extern const unsigned long test_gpu_chunk_sizes[3];

struct test_gpu *test_gpu_create(struct kunit *test, unsigned long mm_start,
				 unsigned long mm_range,
				 unsigned long notifier_size,
				 const unsigned long *chunk_sizes,
				 int num_chunks);
struct test_gpu *test_gpu_create_on(struct kunit *test,
				    struct drm_device *drm,
				    unsigned long mm_start,
				    unsigned long mm_range,
				    unsigned long notifier_size,
				    const unsigned long *chunk_sizes,
				    int num_chunks);
struct test_gpu *test_gpu_create_default(struct kunit *test);
struct test_gpu *test_gpu_create_vm(struct test_gpu *gpu);
void test_gpu_fini(struct test_gpu *gpu);
void test_gpu_expect_clean(struct test_gpu *gpu);
void test_gpus_expect_clean(struct test_gpu **gpus, unsigned int n);

int test_gpu_fault(struct test_gpu *gpu, unsigned long addr, bool write);
int test_gpu_read(struct test_gpu *gpu, unsigned long addr, void *buf,
		  size_t len);
int test_gpu_write(struct test_gpu *gpu, unsigned long addr, const void *buf,
		   size_t len);
bool test_gpu_mapped(struct test_gpu *gpu, unsigned long addr);
void test_gpu_garbage_collect(struct test_gpu *gpu);
void test_gpu_remove_all_ranges(struct test_gpu *gpu);
unsigned long test_gpu_dma_entries(struct test_gpu *gpu);
enum drm_gpusvm_scan_result test_gpu_scan_mm(struct test_gpu *gpu,
					     struct drm_gpusvm_range *range,
					     void *owner,
					     const struct drm_pagemap *pagemap);
int test_gpu_range_evict(struct test_gpu *gpu, struct drm_gpusvm_range *range);
bool test_gpu_has_mapping(struct test_gpu *gpu, unsigned long start,
			  unsigned long end);
bool test_gpu_has_notifier(struct test_gpu *gpu, unsigned long start,
			   unsigned long end);
struct drm_gpusvm_range *test_gpu_range_at(struct test_gpu *gpu,
					   unsigned long addr);

/**
 * struct test_reader - A kthread that keeps reading a pattern back
 *
 * It reads [@addr, @addr + @len) through @gpu, or through the CPU mapping
 * when @gpu is NULL, and checks it against test_pattern(@seed, i), once or
 * until stopped.
 */
struct test_reader {
	/** @mm: The test thread's mm (a reference is held while running). */
	struct mm_struct *mm;
	/** @gpu: The test GPU that reads, or NULL for the CPU. */
	struct test_gpu *gpu;
	/** @addr: Start of the span read. */
	unsigned long addr;
	/** @len: Length of the span read. */
	size_t len;
	/** @seed: Seed of the pattern expected at @addr. */
	u8 seed;
	/** @once: Read once, then finish. */
	bool once;
	/** @stop: Set to make the reader finish after its current read. */
	bool stop;
	/** @reads: Reads that returned the expected bytes. */
	unsigned long reads;
	/** @err: First error: the read's, or -EIO for wrong bytes. */
	int err;
	/** @done: Completed when the reader has finished reading. */
	struct completion done;
	/** @task: The kthread, NULL once stopped. */
	struct task_struct *task;
};

struct test_reader *test_reader_start(struct kunit *test,
				      struct mm_struct *mm,
				      struct test_gpu *gpu, unsigned long addr,
				      size_t len, u8 seed, bool once);
void test_reader_stop(struct test_reader *r);
void test_kthread_finish(atomic_t *running, struct completion *done);

phys_addr_t test_dma_to_phys(struct device *dev, dma_addr_t addr);
u8 test_pattern(u8 seed, unsigned long i);
void test_fill_user(struct kunit *test, unsigned long addr, size_t len,
		    u8 seed);
void test_expect_data(struct kunit *test, struct test_gpu *gpu,
		      unsigned long addr, size_t len, u8 seed);

struct test_userptr *test_userptr_create(struct kunit *test,
					 struct test_gpu *gpu,
					 unsigned long addr,
					 unsigned long size);

unsigned long test_mmap(struct kunit *test, unsigned long len,
			unsigned long prot, unsigned long flags);
unsigned long test_mmap_file(struct kunit *test, struct file *file,
			     unsigned long len, unsigned long prot,
			     unsigned long flags);

#endif /* __DRM_GPUSVM_TEST_GPU_H__ */
