// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of migration between system memory and device memory: the
 * test GPU with emulated VRAM, against the user address space of the test
 * thread. Every case checks the bytes the CPU and the GPU read.
 */

#include <kunit/test.h>

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/sizes.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

#include "drm_gpusvm_test_gpu.h"
#include "drm_gpusvm_test_vram.h"

struct migrate_test {
	struct test_gpu *gpu;
	struct test_vram *vram;
	struct mm_struct *mm;
	unsigned long addr;	/* 2M of anonymous memory, no THP */
};

static int migrate_test_init(struct kunit *test)
{
	struct migrate_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->addr = ALIGN(test_mmap(test, SZ_4M, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE), SZ_2M);
	t->mm = current->mm;
	/* 4K device pages only on 6.12: keep THP out of the way. */
	KUNIT_ASSERT_EQ(test, do_madvise(t->mm, t->addr, SZ_2M,
					 MADV_NOHUGEPAGE), 0);
	t->gpu = test_gpu_create_default(test);
	t->vram = test_vram_create(test, t->gpu);
	t->gpu->ctx.device_private_page_owner = t->gpu;
	t->gpu->ctx.devmem_possible = true;
	/* The GPU maps device pages in place, next to system pages. */
	t->gpu->ctx.allow_mixed = true;
	test->priv = t;
	return 0;
}

static unsigned long device_pages(struct migrate_test *t, unsigned long addr,
				  size_t len)
{
	unsigned long n = 0, a;

	for (a = addr; a < addr + len; a += PAGE_SIZE)
		n += test_vram_is_device_page(t->vram, t->mm, a);
	return n;
}

static void expect_clean(struct kunit *test, struct migrate_test *t)
{
	test_gpu_expect_clean(t->gpu);
	test_vram_expect_clean(t->vram);
}

static void migrate_gpu_reads_device_data(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_range *range;

	test_fill_user(test, t->addr, SZ_64K, 1);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);

	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 1);
	range = test_gpu_range_at(t->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_TRUE(test, range->pages.flags.has_devmem_pages);
	KUNIT_EXPECT_PTR_EQ(test, range->pages.dpagemap, &t->vram->dpagemap);

	/* The CPU faults the pages back and reads the same bytes. */
	test_expect_data(test, NULL, t->addr, SZ_64K, 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 1);
	expect_clean(test, t);
}

static void migrate_cpu_reads_one_page(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	test_fill_user(test, t->addr, SZ_64K, 2);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	test_expect_data(test, NULL, t->addr + SZ_32K, PAGE_SIZE,
			 test_pattern(2, SZ_32K));
	KUNIT_EXPECT_FALSE(test, test_vram_is_device_page(t->vram, t->mm,
							  t->addr + SZ_32K));
	/* Whatever stayed on the device still holds its data. */
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 2);
	expect_clean(test, t);
}

static void migrate_range_half_in_ram(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	test_fill_user(test, t->addr, SZ_64K, 3);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 8);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 3);
	test_expect_data(test, NULL, t->addr, SZ_64K, 3);
	expect_clean(test, t);
}

static void migrate_ping_pong(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	int cycle;

	for (cycle = 0; cycle < 16; cycle++) {
		test_fill_user(test, t->addr, SZ_64K, cycle);
		KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
							t->addr + SZ_64K, 0,
							NULL), 0);
		KUNIT_ASSERT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
		test_expect_data(test, t->gpu, t->addr, SZ_64K, cycle);
		/* The CPU write faults every page back to RAM. */
	}
	test_expect_data(test, NULL, t->addr, SZ_64K, cycle - 1);
	expect_clean(test, t);
}

static void migrate_evict_while_mapped(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;

	test_fill_user(test, t->addr, SZ_64K, 5);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, &alloc), 0);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 5);
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(t->gpu, t->addr));

	KUNIT_ASSERT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(t->gpu, t->addr));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 1);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 5);
	test_expect_data(test, NULL, t->addr, SZ_64K, 5);
	expect_clean(test, t);
}

static void migrate_refuses_unmigratable_memory(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned long shared, none;

	shared = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE, MAP_SHARED);
	test_fill_user(test, shared, SZ_64K, 6);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, shared,
						shared + SZ_64K, 0, NULL),
			-EBUSY);
	none = test_mmap(test, SZ_64K, PROT_NONE, MAP_PRIVATE);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, none,
						none + SZ_64K, 0, NULL),
			-EBUSY);
	/* Crossing the end of the VMA, no VMA, bad arguments. */
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm,
						t->addr + SZ_2M - SZ_4K,
						t->addr + SZ_2M + SZ_4K * 300,
						0, NULL), -EBUSY);
	vm_munmap(none, SZ_64K);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, none,
						none + SZ_4K, 0, NULL),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr + 1,
						t->addr + SZ_4K, 0, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr, 0, NULL), -EINVAL);

	test_expect_data(test, NULL, shared, SZ_64K, 6);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->pages_in_use), 0);
	expect_clean(test, t);
}

/* A driver callback of the migration failing once, and what it returns. */
struct callback_failure {
	const char *desc;
	size_t knob;		/* offset of the bool in struct test_vram */
	int err;
};

static const struct callback_failure callback_failures[] = {
	{ "VRAM exhausted", offsetof(struct test_vram, exhausted), -ENOMEM },
	{ "populate_devmem_pfn fails", offsetof(struct test_vram, fail_populate),
	  -ENOMEM },
	{ "copy_to_devmem fails",
	  offsetof(struct test_vram, fail_copy_to_devmem), -EIO },
};

static void callback_failure_desc(const struct callback_failure *f, char *desc)
{
	strscpy(desc, f->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(callback_failure, callback_failures, callback_failure_desc);

static void migrate_callback_fails(struct kunit *test)
{
	const struct callback_failure *f = test->param_value;
	struct migrate_test *t = test->priv;

	test_fill_user(test, t->addr, SZ_64K, 7);
	*(bool *)((void *)t->vram + f->knob) = true;
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL),
			f->err);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	/* The data stays in system memory, and the range keeps working. */
	test_expect_data(test, NULL, t->addr, SZ_64K, 7);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 7);
	expect_clean(test, t);
}

static void migrate_evict_copy_fails_then_retries(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;

	test_fill_user(test, t->addr, SZ_64K, 10);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, &alloc), 0);
	t->vram->fail_copy_to_ram = true;
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), -EIO);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 10);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
	test_expect_data(test, NULL, t->addr, SZ_64K, 10);
	expect_clean(test, t);
}

static void migrate_device_map_fails(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_range *range;

	test_fill_user(test, t->addr, SZ_64K, 11);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	t->vram->fail_device_map = true;
	KUNIT_EXPECT_EQ(test, test_gpu_fault(t->gpu, t->addr, false), -ENOMEM);
	range = test_gpu_range_at(t->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_maps), 0);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 11);
	expect_clean(test, t);
}

static void migrate_devmem_only_and_mixed(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_ctx ctx;
	struct drm_gpusvm_range *range;

	test_fill_user(test, t->addr, SZ_64K, 12);
	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	KUNIT_ASSERT_EQ(test, test_gpu_fault(t->gpu, t->addr, false), 0);
	range = test_gpu_range_at(t->gpu, t->addr);

	/* Half of the range on the device, half in system memory. */
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	ctx = t->gpu->ctx;
	ctx.allow_mixed = false;
	mutex_lock(&t->gpu->lock);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&t->gpu->gpusvm,
							 range, &ctx),
			-EOPNOTSUPP);
	ctx.devmem_only = true;
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&t->gpu->gpusvm,
							 range, &ctx),
			-EFAULT);
	ctx.devmem_only = false;
	ctx.allow_mixed = true;
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&t->gpu->gpusvm,
							 range, &ctx), 0);
	mutex_unlock(&t->gpu->lock);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu,
					       &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_MIXED);

	/* Evicting the range gives a system-only range again. */
	KUNIT_EXPECT_EQ(test, test_gpu_range_evict(t->gpu, range), 0);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu,
					       &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_SYSTEM);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 12);
	expect_clean(test, t);
}

static void migrate_scan_mm(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_range *range;

	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	t->gpu->ctx.read_only = true;
	KUNIT_ASSERT_EQ(test, test_gpu_fault(t->gpu, t->addr, false), 0);
	range = test_gpu_range_at(t->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);

	KUNIT_ASSERT_EQ(test, do_madvise(t->mm, t->addr, SZ_64K,
					 MADV_DONTNEED), 0);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu,
					       &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_UNPOPULATED);
	test_fill_user(test, t->addr, SZ_64K, 13);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu,
					       &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_SYSTEM);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu,
					       &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_EQUAL);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu, NULL),
			DRM_GPUSVM_SCAN_OTHER);
	KUNIT_EXPECT_EQ(test, test_gpu_range_evict(t->gpu, range), 0);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu,
					       &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_SYSTEM);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu,
					       &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_MIXED);
	test_expect_data(test, NULL, t->addr, SZ_64K, 13);
	expect_clean(test, t);
}

static void migrate_teardown_with_pages_resident(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	test_fill_user(test, t->addr, SZ_256K, 14);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm,
						t->addr + SZ_128K,
						t->addr + SZ_256K, 0, NULL), 0);
	test_expect_data(test, t->gpu, t->addr, SZ_256K, 14);
	test_gpu_expect_clean(t->gpu);

	/* The device goes away: its pages come home first. */
	test_vram_expect_clean(t->vram);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 2);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_256K), 0);
	test_expect_data(test, NULL, t->addr, SZ_256K, 14);
}

/*
 * The process unmaps memory whose pages are all in device memory and mapped
 * by the GPU: the page-table zap frees the device pages under the page-table
 * lock, and the last one releases the allocation right there, in atomic
 * context, with no eviction and nothing left behind.
 */
static void migrate_munmap_releases_from_zap(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct test_vram_alloc *alloc;

	test_fill_user(test, addr, SZ_64K, 12);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, addr,
						addr + SZ_64K, 0, &alloc), 0);
	test_expect_data(test, t->gpu, addr, SZ_64K, 12);
	KUNIT_ASSERT_EQ(test, atomic_read(&t->vram->device_maps), 16);

	KUNIT_ASSERT_EQ(test, vm_munmap(addr, SZ_64K), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 1);
	/* From the zap, under the page-table lock. */
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->atomic_releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->pages_in_use), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_maps), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(t->gpu, addr));
	expect_clean(test, t);
}

static const char * const partial_unmap_names[] = { "head", "middle", "tail" };

static void partial_unmap_desc(const unsigned long *where, char *desc)
{
	strscpy(desc, partial_unmap_names[*where], KUNIT_PARAM_DESC_SIZE);
}

static const unsigned long partial_unmap_params[] = { 0, 1, 2 };
KUNIT_ARRAY_PARAM(partial_unmap, partial_unmap_params, partial_unmap_desc);

static void migrate_partial_munmap(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned long where = *(const unsigned long *)test->param_value;
	unsigned long hole = t->addr + where * (SZ_32K - SZ_8K);
	unsigned long a;

	test_fill_user(test, t->addr, SZ_64K, 15);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 15);

	/* Unmap 16K at the head, in the middle or at the tail. */
	vm_munmap(hole, SZ_16K);
	KUNIT_EXPECT_TRUE(test, test_gpu_range_at(t->gpu, t->addr)->flags.partial_unmap);
	/* The unmapped pages left the device; the 12 survivors did not. */
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 12);

	/* The survivors keep their data, read by the GPU and by the CPU. */
	for (a = t->addr; a < t->addr + SZ_64K; a += PAGE_SIZE) {
		if (a >= hole && a < hole + SZ_16K)
			continue;
		test_expect_data(test, t->gpu, a, PAGE_SIZE, test_pattern(15, a - t->addr));
		test_expect_data(test, NULL, a, PAGE_SIZE, test_pattern(15, a - t->addr));
	}
	mutex_lock(&t->gpu->lock);
	test_gpu_garbage_collect(t->gpu);
	mutex_unlock(&t->gpu->lock);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	expect_clean(test, t);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 1);
}

/*
 * A private file mapping migrates its anonymous, copied-on-write pages; its
 * page-cache pages (only read so far) and shared file mappings stay put.
 */
static void migrate_private_file_cow_pages(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct file *file = shmem_kernel_file_setup("gpusvm-migrate", SZ_128K, 0);
	unsigned long priv, shared;
	u8 byte;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	priv = test_mmap_file(test, file, SZ_128K, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE);
	shared = test_mmap_file(test, file, SZ_64K, PROT_READ | PROT_WRITE,
				MAP_SHARED);
	fput(file);

	/* Never written: no anonymous page at all, nothing to move. */
	KUNIT_ASSERT_EQ(test, copy_from_user(&byte, (void __user *)priv + SZ_64K,
					     1), 0);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, priv + SZ_64K,
						priv + SZ_64K + PAGE_SIZE, 0,
						NULL), -EBUSY);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, shared,
						shared + SZ_64K, 0, NULL),
			-EBUSY);

	/* Written: the first 64K are anonymous copies now; they move. */
	test_fill_user(test, priv, SZ_64K, 16);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, priv,
						priv + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, priv, SZ_64K), 16);
	/* The page-cache page that was only read still cannot. */
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, priv + SZ_64K,
						priv + SZ_64K + PAGE_SIZE, 0,
						NULL), -EBUSY);
	/* The GPU's writable ranges may copy more pages on write. */
	test_expect_data(test, t->gpu, priv, SZ_64K, 16);
	test_expect_data(test, NULL, priv, SZ_64K, 16);
	KUNIT_EXPECT_EQ(test, device_pages(t, priv, SZ_128K), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, shared, SZ_64K), 0);
	expect_clean(test, t);
}

/*
 * The timeslice only holds off user-mode CPU faults. Another GPU VM's fault
 * (hmm_range_fault(), a remote fault) and a kernel-mode CPU access take the
 * pages back at once, long before the expiry.
 */
static void migrate_timeslice_holds_off_user_faults_only(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;
	struct test_gpu *gpus[2];

	gpus[0] = t->gpu;
	gpus[1] = test_gpu_create_vm(t->gpu);	/* system pages only */
	test_fill_user(test, t->addr, SZ_64K, 17);

	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K,
						60 * MSEC_PER_SEC, &alloc), 0);
	KUNIT_ASSERT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, gpus[1], t->addr, SZ_64K, 17);
	KUNIT_EXPECT_TRUE(test, time_before(jiffies,
					    READ_ONCE(alloc->devmem.timeslice_expiration)));
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));

	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K,
						60 * MSEC_PER_SEC, &alloc), 0);
	test_expect_data(test, NULL, t->addr + SZ_16K, PAGE_SIZE,
			 test_pattern(17, SZ_16K));
	KUNIT_EXPECT_TRUE(test, time_before(jiffies,
					    READ_ONCE(alloc->devmem.timeslice_expiration)));
	KUNIT_EXPECT_FALSE(test, test_vram_is_device_page(t->vram, t->mm,
							  t->addr + SZ_16K));
	test_gpus_expect_clean(gpus, ARRAY_SIZE(gpus));
	test_vram_expect_clean(t->vram);
}

static void migrate_evict_while_cpu_faults(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;
	struct test_reader *r1, *r2;
	int round;

	test_fill_user(test, t->addr, SZ_64K, 18);
	r1 = NULL;
	for (round = 0; round < 20; round++) {
		KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
							t->addr + SZ_64K, 0,
							&alloc), 0);
		/*
		 * Two readers fault the pages of the allocation while it is
		 * evicted, each its own half: on 6.12 two CPUs faulting the
		 * very same device page make each other's migration skip it
		 * (see the DOC of drm_pagemap.c).
		 */
		if (!r1) {
			r1 = test_reader_start(test, t->mm, NULL, t->addr,
					       SZ_32K, 18, false);
			r2 = test_reader_start(test, t->mm, NULL,
					       t->addr + SZ_32K, SZ_32K,
					       test_pattern(18, SZ_32K), false);
		}
		KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
		KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
	}
	test_reader_stop(r1);
	test_reader_stop(r2);
	KUNIT_EXPECT_EQ(test, r1->err, 0);
	KUNIT_EXPECT_EQ(test, r2->err, 0);
	KUNIT_EXPECT_GT(test, r1->reads + r2->reads, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 20);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 18);
	expect_clean(test, t);
}

/* The stress case: migrations, CPU writes and evictions on one buffer. */
#define STRESS_ITERATIONS	100

struct stress {
	struct migrate_test *t;
	struct test_vram_alloc *last;	/* latest allocation, for the evictor */
	unsigned long migrations, evictions, verified, writes;
	int err;
	atomic_t running;
	struct completion done;
};

static int stress_migrator(void *data)
{
	struct stress *st = data;
	struct migrate_test *t = st->t;
	struct test_vram_alloc *alloc;
	int i, err;

	for (i = 0; i < STRESS_ITERATIONS; i++) {
		err = test_vram_migrate(t->vram, t->mm, t->addr,
					t->addr + SZ_64K, 0, &alloc);
		if (!err) {
			WRITE_ONCE(st->last, alloc);
			st->migrations++;
		} else if (err != -EBUSY) {
			st->err = err;
			break;
		}
		cond_resched();
	}
	test_kthread_finish(&st->running, &st->done);
	return 0;
}

static int stress_evictor(void *data)
{
	struct stress *st = data;
	struct test_vram_alloc *alloc;
	int i, err;

	for (i = 0; i < STRESS_ITERATIONS; i++) {
		alloc = READ_ONCE(st->last);
		if (alloc) {
			err = drm_pagemap_evict_to_ram(&alloc->devmem);
			if (!err)
				st->evictions++;
			else if (err != -EBUSY)
				st->err = err;
		}
		usleep_range(100, 200);
	}
	test_kthread_finish(&st->running, &st->done);
	return 0;
}

/* The only writer: every read must return what it wrote last. */
static int stress_cpu(void *data)
{
	struct stress *st = data;
	struct migrate_test *t = st->t;
	u64 *buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	unsigned long addr;
	int i, j;

	if (!buf) {
		st->err = -ENOMEM;
		goto out;
	}
	kthread_use_mm(t->mm);
	for (i = 1; i <= STRESS_ITERATIONS && !st->err; i++) {
		addr = t->addr + (i % 16) * PAGE_SIZE;
		for (j = 0; j < PAGE_SIZE / sizeof(u64); j++)
			buf[j] = (u64)i << 32 | j;
		if (copy_to_user((void __user *)addr, buf, PAGE_SIZE)) {
			st->err = -EFAULT;
			break;
		}
		st->writes++;
		memset(buf, 0, PAGE_SIZE);
		if (copy_from_user(buf, (void __user *)addr, PAGE_SIZE)) {
			st->err = -EFAULT;
			break;
		}
		for (j = 0; j < PAGE_SIZE / sizeof(u64); j++)
			if (buf[j] != ((u64)i << 32 | j))
				st->err = -EIO;
		if (!st->err)
			st->verified++;
		cond_resched();
	}
	kthread_unuse_mm(t->mm);
	kfree(buf);
out:
	test_kthread_finish(&st->running, &st->done);
	return 0;
}

static void migrate_stress_three_threads(struct kunit *test)
{
	int (*fns[])(void *) = { stress_migrator, stress_evictor, stress_cpu };
	struct migrate_test *t = test->priv;
	struct task_struct *tasks[ARRAY_SIZE(fns)];
	struct stress *st;
	u64 val;
	int i;

	st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	st->t = t;
	init_completion(&st->done);
	atomic_set(&st->running, ARRAY_SIZE(fns));
	test_fill_user(test, t->addr, SZ_64K, 19);

	mmget(t->mm);
	for (i = 0; i < ARRAY_SIZE(fns); i++) {
		tasks[i] = kthread_run(fns[i], st, "gpusvm-stress-%d", i);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tasks[i]);
	}
	wait_for_completion(&st->done);
	for (i = 0; i < ARRAY_SIZE(fns); i++)
		kthread_stop(tasks[i]);
	mmput(t->mm);

	KUNIT_EXPECT_EQ(test, st->err, 0);
	KUNIT_EXPECT_EQ(test, st->verified, STRESS_ITERATIONS);
	KUNIT_EXPECT_GT(test, st->migrations, 0);
	KUNIT_EXPECT_GT(test, st->evictions, 0);
	kunit_info(test, "%lu migrations, %lu evictions, %lu verified CPU reads\n",
		   st->migrations, st->evictions, st->verified);

	/* The last write to each page, read by the GPU. */
	for (i = STRESS_ITERATIONS - 15; i <= STRESS_ITERATIONS; i++) {
		KUNIT_ASSERT_EQ(test, test_gpu_read(t->gpu, t->addr +
						    (i % 16) * PAGE_SIZE + 8,
						    &val, sizeof(val)), 0);
		KUNIT_EXPECT_EQ(test, val, (u64)i << 32 | 1);
	}
	expect_clean(test, t);
}

static void migrate_busy_page_changes_nothing(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct page *pinned;

	test_fill_user(test, t->addr, SZ_64K, 20);
	/* A pinned page cannot migrate: nothing may move. */
	KUNIT_ASSERT_EQ(test, pin_user_pages_fast(t->addr + SZ_8K, 1, FOLL_WRITE,
						  &pinned), 1);
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL),
			-EBUSY);
	unpin_user_page(pinned);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	test_expect_data(test, NULL, t->addr, SZ_64K, 20);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 20);
	expect_clean(test, t);
}

static void migrate_cpu_fault_copy_fails(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	u8 byte;

	test_fill_user(test, t->addr, SZ_64K, 21);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	/* The copy back fails: the CPU access fails, the data stays. */
	t->vram->fail_copy_to_ram = true;
	KUNIT_EXPECT_NE(test, copy_from_user(&byte, (void __user *)t->addr, 1),
			0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, NULL, t->addr, SZ_64K, 21);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	expect_clean(test, t);
}

static void migrate_other_owner_gets_system_pages(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_range *range;
	int other_owner;

	test_fill_user(test, t->addr, SZ_64K, 22);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	/* A GPU of another owner faults the pages back to system memory. */
	t->gpu->ctx.device_private_page_owner = &other_owner;
	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 22);
	range = test_gpu_range_at(t->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_devmem_pages);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	expect_clean(test, t);
}

static void migrate_populate_mm(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	test_fill_user(test, t->addr, SZ_64K, 23);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&t->vram->dpagemap,
						      t->addr, t->addr + SZ_64K,
						      t->mm, 0), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 23);
	test_expect_data(test, NULL, t->addr, SZ_64K, 23);
	expect_clean(test, t);
}

static void migrate_scan_mm_two_pagemaps(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram *second = test_vram_create(test, t->gpu);
	struct drm_gpusvm_range *range;

	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	test_fill_user(test, t->addr, SZ_64K, 24);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(t->gpu, t->addr, false), 0);
	range = test_gpu_range_at(t->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);

	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(second, t->mm, t->addr + SZ_32K,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(t->gpu, range, t->gpu,
					       &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_MIXED_DEVICE);
	/* Device pages of two pagemaps are never mapped together. */
	mutex_lock(&t->gpu->lock);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&t->gpu->gpusvm, range,
							 &t->gpu->ctx),
			-EOPNOTSUPP);
	mutex_unlock(&t->gpu->lock);
	/* The fault loop evicts and retries: the GPU reads the data. */
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 24);
	expect_clean(test, t);
	test_vram_expect_clean(second);
}

static void migrate_again_is_noop(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	test_fill_user(test, t->addr, SZ_64K, 25);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	/* Everything is there already: the new allocation takes nothing. */
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, NULL, t->addr, SZ_64K, 25);
	expect_clean(test, t);
}

static void migrate_span_larger_than_allocation(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;

	test_fill_user(test, t->addr, SZ_64K, 26);
	alloc = test_vram_alloc(t->vram, t->mm, SZ_32K);
	KUNIT_ASSERT_NOT_NULL(test, alloc);
	mmap_read_lock(t->mm);
	KUNIT_EXPECT_EQ(test, drm_pagemap_migrate_to_devmem(&alloc->devmem, t->mm,
							    t->addr,
							    t->addr + SZ_64K, 0,
							    t->gpu), -EINVAL);
	mmap_read_unlock(t->mm);
	/* The caller's reference is consumed on errors too. */
	KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	test_expect_data(test, NULL, t->addr, SZ_64K, 26);
	expect_clean(test, t);
}

/*
 * Fail the allocations of a migration path one at a time (test_fail_nth):
 * each failure gives -ENOMEM, leaves every page where it was, and the data
 * intact.
 */
static void migrate_survives_each_failed_allocation(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned int nth, failed = 0;
	int err;

	test_fail_nth_init(test);

	test_fill_user(test, t->addr, SZ_64K, 27);
	for (nth = 1; nth < 64; nth++) {
		test_fail_nth = nth;
		err = test_vram_migrate(t->vram, t->mm, t->addr,
					t->addr + SZ_64K, 0, NULL);
		if (test_fail_nth) {
			test_fail_nth = 0;
			KUNIT_EXPECT_EQ(test, err, 0);
			break;
		}
		failed++;
		KUNIT_EXPECT_EQ(test, err, -ENOMEM);
		KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
		test_expect_data(test, NULL, t->addr, SZ_64K, 27);
	}
	KUNIT_EXPECT_GE(test, failed, 2);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 27);
	expect_clean(test, t);
}

static void evict_survives_each_failed_allocation(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;
	unsigned int nth, failed = 0;
	int err;

	test_fail_nth_init(test);

	test_fill_user(test, t->addr, SZ_64K, 28);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, &alloc), 0);
	for (nth = 1; nth < 64; nth++) {
		test_fail_nth = nth;
		err = drm_pagemap_evict_to_ram(&alloc->devmem);
		if (test_fail_nth) {
			test_fail_nth = 0;
			KUNIT_EXPECT_EQ(test, err, 0);
			break;
		}
		failed++;
		KUNIT_EXPECT_EQ(test, err, -ENOMEM);
		KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
		test_expect_data(test, t->gpu, t->addr, SZ_64K, 28);
	}
	KUNIT_EXPECT_GE(test, failed, 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	test_expect_data(test, NULL, t->addr, SZ_64K, 28);
	expect_clean(test, t);
}

static void migrate_cpu_fault_allocation_fails(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	u8 byte;

	test_fail_nth_init(test);

	test_fill_user(test, t->addr, SZ_64K, 29);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	/* The CPU fault cannot allocate: the access fails, nothing moves. */
	test_fail_nth = 1;
	KUNIT_EXPECT_NE(test, copy_from_user(&byte, (void __user *)t->addr, 1),
			0);
	KUNIT_EXPECT_EQ(test, test_fail_nth, 0);
	test_fail_nth = 0;
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, NULL, t->addr, SZ_64K, 29);
	expect_clean(test, t);
}

/*
 * An untouched PROT_READ private mapping migrated to the device holds
 * read-only device entries, which hmm_range_fault() returns to their owner
 * as valid but not writable even when write is asked. Asked for write, the
 * range and the userptr path refuse with -EPERM: nothing moves, nothing is
 * mapped. A read maps them, read-only.
 */
static void migrate_read_only_device_pages_refuse_write(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ, MAP_PRIVATE);
	struct drm_gpusvm_range *range;
	struct drm_gpusvm_ctx ctx;
	struct test_userptr *up;
	u8 *buf;
	int err;

	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, addr,
						addr + SZ_64K, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, device_pages(t, addr, SZ_64K), 16);

	ctx = t->gpu->ctx;
	ctx.read_only = true;
	mutex_lock(&t->gpu->lock);
	range = drm_gpusvm_range_find_or_insert(&t->gpu->gpusvm, addr,
						t->gpu->gpuva_start,
						t->gpu->gpuva_end, &ctx);
	ctx.read_only = false;
	err = IS_ERR(range) ? PTR_ERR(range) :
	      drm_gpusvm_range_get_pages(&t->gpu->gpusvm, range, &ctx);
	mutex_unlock(&t->gpu->lock);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, range);
	KUNIT_EXPECT_EQ(test, err, -EPERM);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_map_calls), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, addr, SZ_64K), 16);

	up = test_userptr_create(test, t->gpu, addr, SZ_64K);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   t->mm, &up->notifier, addr,
						   addr + SZ_64K, &ctx), -EPERM);
	KUNIT_EXPECT_FALSE(test, up->pages.flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_map_calls), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, addr, SZ_64K), 16);
	mmu_interval_notifier_remove(&up->notifier);
	drm_gpusvm_free_pages(&up->gpusvm, &up->pages, up->npages);
	drm_gpusvm_fini(&up->gpusvm);

	/* Read-only, the device pages map in place, for reading only. */
	t->gpu->ctx.read_only = true;
	buf = kunit_kmalloc(test, SZ_64K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, 0xa5, SZ_64K);
	KUNIT_ASSERT_EQ(test, test_gpu_read(t->gpu, addr, buf, SZ_64K), 0);
	KUNIT_EXPECT_NULL(test, memchr_inv(buf, 0, SZ_64K));
	KUNIT_EXPECT_EQ(test, (unsigned int)range->pages.dma_addr[0].dir, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, (unsigned int)range->pages.dma_addr[0].proto,
			DRM_INTERCONNECT_DRIVER);
	KUNIT_EXPECT_EQ(test, device_pages(t, addr, SZ_64K), 16);
	expect_clean(test, t);
}

/*
 * A read-only mapping whose pages are in device memory becomes writable, as
 * mprotect(PROT_READ | PROT_WRITE) makes it (KUnit cannot call mprotect():
 * the case sets VM_WRITE itself). Its device entries stay read-only, so
 * hmm_range_fault() returns them valid but not writable: a write request
 * faults them back to system memory for write, then maps them writable.
 */
static void migrate_read_only_device_pages_faulted_back_for_write(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ, MAP_PRIVATE);
	u64 val = 0x1122334455667788ULL, cpu = 0;
	struct drm_gpusvm_range *range;
	struct vm_area_struct *vma;
	unsigned long a;

	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, addr,
						addr + SZ_64K, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, device_pages(t, addr, SZ_64K), 16);

	mmap_write_lock(t->mm);
	vma = vma_lookup(t->mm, addr);
	if (vma) {
		vm_flags_set(vma, VM_WRITE);
		vma_set_page_prot(vma);
	}
	mmap_write_unlock(t->mm);
	KUNIT_ASSERT_NOT_NULL(test, vma);

	t->gpu->gpuva_start = addr;
	t->gpu->gpuva_end = addr + SZ_64K;
	for (a = addr; a < addr + SZ_64K; a += PAGE_SIZE) {
		KUNIT_ASSERT_EQ(test, test_gpu_write(t->gpu, a + 8, &val,
						     sizeof(val)), 0);
		range = test_gpu_range_at(t->gpu, a);
		KUNIT_ASSERT_NOT_NULL(test, range);
		KUNIT_EXPECT_EQ(test, (unsigned int)range->pages.dma_addr[0].dir,
				DMA_BIDIRECTIONAL);
		KUNIT_EXPECT_EQ(test, (unsigned int)range->pages.dma_addr[0].proto,
				DRM_INTERCONNECT_SYSTEM);
	}
	KUNIT_EXPECT_EQ(test, device_pages(t, addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_map_calls), 0);
	for (a = addr; a < addr + SZ_64K; a += PAGE_SIZE) {
		KUNIT_ASSERT_EQ(test, copy_from_user(&cpu, (void __user *)a + 8,
						     sizeof(cpu)), 0);
		KUNIT_EXPECT_EQ(test, cpu, val);
	}
	expect_clean(test, t);
}

/*
 * A current mapping of device pages is returned as it is: no fault, no
 * second device_map(). Another owner's request leaves it alone with -EEXIST,
 * and nothing moves.
 */
static void migrate_device_mapping_returned_as_is(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_range *range;
	struct drm_gpusvm_ctx ctx;
	int again, other;

	test_fill_user(test, t->addr, SZ_64K, 5);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 5);
	KUNIT_ASSERT_EQ(test, atomic_read(&t->vram->device_map_calls), 16);
	range = test_gpu_range_at(t->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);

	ctx = t->gpu->ctx;
	mutex_lock(&t->gpu->lock);
	again = drm_gpusvm_range_get_pages(&t->gpu->gpusvm, range, &ctx);
	ctx.device_private_page_owner = NULL;
	other = drm_gpusvm_range_get_pages(&t->gpu->gpusvm, range, &ctx);
	mutex_unlock(&t->gpu->lock);
	KUNIT_EXPECT_EQ(test, again, 0);
	KUNIT_EXPECT_EQ(test, other, -EEXIST);

	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_map_calls), 16);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_maps), 16);
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(t->gpu, t->addr));
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 5);
	expect_clean(test, t);
}

/*
 * Fail the k-th map of a range that holds device pages and system pages
 * (test_fail_nth, k > 0 included): each failure gives -ENOMEM and leaves no
 * mapping, device or DMA; the next fault maps everything.
 */
static void migrate_each_failed_map_unwinds(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned int nth, left, failed = 0;
	struct drm_gpusvm_range *range;
	int err = 0;

	test_fail_nth_init(test);

	test_fill_user(test, t->addr, SZ_64K, 6);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	for (nth = 1; nth < 64; nth++) {
		/* A new range each round: every round takes the same path. */
		test_gpu_remove_all_ranges(t->gpu);
		mutex_lock(&t->gpu->lock);
		range = drm_gpusvm_range_find_or_insert(&t->gpu->gpusvm, t->addr,
							t->gpu->gpuva_start,
							t->gpu->gpuva_end,
							&t->gpu->ctx);
		if (!IS_ERR(range)) {
			test_fail_nth = nth;
			err = drm_gpusvm_range_get_pages(&t->gpu->gpusvm, range,
							 &t->gpu->ctx);
			left = test_fail_nth;
			test_fail_nth = 0;
		}
		mutex_unlock(&t->gpu->lock);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, range);
		if (left) {
			KUNIT_EXPECT_EQ(test, err, 0);
			break;
		}
		failed++;
		KUNIT_EXPECT_EQ(test, err, -ENOMEM);
		KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);
		KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_maps), 0);
	}
	/* The pfn array, the DMA array, 8 device maps and 8 DMA maps. */
	KUNIT_EXPECT_EQ(test, failed, 18);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_maps), 8);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 8);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 6);
	expect_clean(test, t);
}

/*
 * Eviction of a range fails at each of its allocations in turn: the
 * documented -ENOMEM, the pages stay on the device with their data, and the
 * next eviction brings them all home.
 */
static void range_evict_survives_each_failed_allocation(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_range *range;
	unsigned int nth, failed = 0;
	int err;

	test_fail_nth_init(test);

	test_fill_user(test, t->addr, SZ_64K, 7);
	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	KUNIT_ASSERT_EQ(test, test_gpu_fault(t->gpu, t->addr, false), 0);
	range = test_gpu_range_at(t->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);

	for (nth = 1; nth < 64; nth++) {
		mutex_lock(&t->gpu->lock);
		test_fail_nth = nth;
		err = drm_gpusvm_range_evict(&t->gpu->gpusvm, range);
		if (test_fail_nth) {
			test_fail_nth = 0;
			mutex_unlock(&t->gpu->lock);
			KUNIT_EXPECT_EQ(test, err, 0);
			break;
		}
		mutex_unlock(&t->gpu->lock);
		failed++;
		/* Our pfn array, or the migration of the fault inside. */
		KUNIT_EXPECT_TRUE(test, err == -ENOMEM || err == -EFAULT);
		KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	}
	KUNIT_EXPECT_GE(test, failed, 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 7);
	expect_clean(test, t);
}

/*
 * The unbind path's eviction cannot fail: each DMA map of its copies fails
 * in turn (test_fail_nth) and it still brings every page home, data intact.
 */
static void evict_nofail_survives_each_failed_map(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;
	unsigned int nth;

	test_fail_nth_init(test);

	test_fill_user(test, t->addr, SZ_64K, 8);
	for (nth = 1; nth <= 17; nth++) {
		KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
							t->addr + SZ_64K, 0,
							&alloc), 0);
		test_fail_nth = nth;
		drm_pagemap_evict_to_ram_nofail(&alloc->devmem);
		test_fail_nth = 0;
		KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
		KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
		test_expect_data(test, NULL, t->addr, SZ_64K, 8);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 17);
	expect_clean(test, t);
}

/*
 * devmem_release is optional: an allocation without it migrates, is read,
 * and is evicted. An allocation without a copy callback is refused at once.
 */
static void migrate_devmem_ops_checked(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_pagemap_devmem_ops *ops;
	struct test_vram_alloc *alloc;
	int err;

	test_fill_user(test, t->addr, SZ_64K, 9);
	ops = kunit_kzalloc(test, sizeof(*ops), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ops);

	alloc = test_vram_alloc(t->vram, t->mm, SZ_64K);
	KUNIT_ASSERT_NOT_NULL(test, alloc);
	*ops = *alloc->devmem.ops;
	ops->devmem_release = NULL;
	alloc->devmem.ops = ops;
	mmap_read_lock(t->mm);
	err = drm_pagemap_migrate_to_devmem(&alloc->devmem, t->mm, t->addr,
					    t->addr + SZ_64K, 0,
					    t->vram->pagemap.owner);
	mmap_read_unlock(t->mm);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 9);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 0);
	test_vram_release_alloc(alloc);

	alloc = test_vram_alloc(t->vram, t->mm, SZ_64K);
	KUNIT_ASSERT_NOT_NULL(test, alloc);
	*ops = *alloc->devmem.ops;
	ops->copy_to_ram = NULL;
	alloc->devmem.ops = ops;
	mmap_read_lock(t->mm);
	err = drm_pagemap_migrate_to_devmem(&alloc->devmem, t->mm, t->addr,
					    t->addr + SZ_64K, 0,
					    t->vram->pagemap.owner);
	mmap_read_unlock(t->mm);
	KUNIT_EXPECT_EQ(test, err, -EOPNOTSUPP);
	KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	test_expect_data(test, NULL, t->addr, SZ_64K, 9);
	expect_clean(test, t);
}

/*
 * A CPU fault migrates the first 2M window of a 4M allocation back with a
 * slow copy while another GPU VM and another CPU thread fault pages of its
 * second window. Both find the allocation taken and must sleep until that
 * migration ends (the CPU thread with its mmap lock dropped, retrying its
 * fault): spinning with the mmap lock held would, on a uniprocessor without
 * preemption, never let the sleeping copy finish.
 */
static void migrate_device_fault_waits_for_cpu_fault(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned long addr = ALIGN(test_mmap(test, SZ_8M, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE), SZ_2M);
	struct test_reader *reader, *other;
	struct test_vram_alloc *alloc;
	struct test_gpu *gpus[2];

	KUNIT_ASSERT_EQ(test, do_madvise(t->mm, addr, SZ_4M, MADV_NOHUGEPAGE),
			0);
	gpus[0] = t->gpu;
	gpus[1] = test_gpu_create_vm(t->gpu);	/* system pages only */
	gpus[1]->gpuva_start = addr + SZ_2M;
	gpus[1]->gpuva_end = addr + SZ_2M + SZ_64K;
	test_fill_user(test, addr, SZ_4M, 14);
	/*
	 * The GPU's range and notifier exist before the race: inserting a
	 * notifier takes the mmap lock for write, which would wait for the
	 * CPU fault instead of racing with it.
	 */
	test_expect_data(test, gpus[1], addr + SZ_2M, SZ_64K,
			 test_pattern(14, SZ_2M));
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, addr,
						addr + SZ_4M, 0, &alloc), 0);

	WRITE_ONCE(t->vram->copy_to_ram_delay_ms, 500);
	reader = test_reader_start(test, t->mm, NULL, addr, PAGE_SIZE,
				   test_pattern(14, 0), true);
	/* The CPU fault holds the allocation, in its copy, from here on. */
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&t->vram->copy_to_ram_entered,
							  30 * HZ), 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&reader->done));
	other = test_reader_start(test, t->mm, NULL, addr + SZ_2M + SZ_1M,
				  PAGE_SIZE, test_pattern(14, SZ_2M + SZ_1M),
				  true);
	test_expect_data(test, gpus[1], addr + SZ_2M, SZ_64K,
			 test_pattern(14, SZ_2M));
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&reader->done,
							  30 * HZ), 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&other->done,
							  30 * HZ), 0);
	/*
	 * The CPU fault's window, then the second one, by whoever won it
	 * (once more if it skipped the page a woken waiter still held).
	 */
	KUNIT_EXPECT_GE(test, atomic_read(&t->vram->copy_to_ram_calls), 2);
	KUNIT_EXPECT_EQ(test, reader->err, 0);
	KUNIT_EXPECT_EQ(test, other->err, 0);
	WRITE_ONCE(t->vram->copy_to_ram_delay_ms, 0);
	test_reader_stop(reader);
	test_reader_stop(other);
	KUNIT_EXPECT_EQ(test, device_pages(t, addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, addr + SZ_2M, SZ_64K), 0);
	KUNIT_EXPECT_FALSE(test, test_vram_is_device_page(t->vram, t->mm,
							  addr + SZ_2M + SZ_1M));
	test_gpus_expect_clean(gpus, ARRAY_SIZE(gpus));
	test_vram_expect_clean(t->vram);
}

struct slow_migration {
	struct migrate_test *t;
	struct test_vram_alloc *alloc;
	int err;
	struct completion done;
};

static int slow_migration_fn(void *data)
{
	struct slow_migration *m = data;
	struct migrate_test *t = m->t;

	m->err = test_vram_migrate(t->vram, t->mm, t->addr, t->addr + SZ_64K,
				   0, &m->alloc);
	test_kthread_finish(NULL, &m->done);
	return 0;
}

static void slow_migration_stop(void *task)
{
	kthread_stop(task);
}

/*
 * An eviction that meets an allocation while a migration into it still
 * waits for its device pages must not report it empty: the pages arrive
 * right after, and a driver that took the allocation off its eviction list
 * on that answer would never evict it again (nor unbind). The eviction
 * waits for the migration and then moves its pages back.
 */
static void migrate_evict_while_migrating_in(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct slow_migration *m;
	struct task_struct *task;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->t = t;
	init_completion(&m->done);
	test_fill_user(test, t->addr, SZ_64K, 15);
	WRITE_ONCE(t->vram->populate_delay_ms, 500);
	task = kthread_run(slow_migration_fn, m, "gpusvm-slow-migration");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, slow_migration_stop,
							task), 0);
	/* The allocation exists and its migration is in populate_devmem_pfn. */
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&t->vram->populate_entered,
							  30 * HZ), 0);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&m->alloc->devmem), 0);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&m->done, 30 * HZ), 0);
	KUNIT_EXPECT_EQ(test, m->err, 0);
	/* Evicted means evicted: no page of the allocation is left. */
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&m->alloc->devmem.detached,
							  30 * HZ), 0);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 15);
	expect_clean(test, t);
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Faulters of one page, while it is evicted, in every round. */
#define SAME_PAGE_ROUNDS	100
#define SAME_PAGE_READERS	3

/*
 * Several CPU threads fault the very same device page while its allocation
 * is evicted. Each round must end: the eviction brings every page home
 * within its bound. The deadline is a hang detector, ten times that bound,
 * not a speed check; the distribution of round times is reported. Kernel
 * threads fault again without leaving the kernel: while each fault held a
 * page reference (6.12's do_swap_page() without the page lock) every
 * migration of the page failed on the others', and on a uniprocessor one
 * round in a few hundred never ended.
 */
static void migrate_evict_same_page_faulters(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_reader *readers[SAME_PAGE_READERS];
	unsigned long ms[SAME_PAGE_ROUNDS], sum = 0;
	unsigned long page = t->addr + SZ_16K;
	struct test_vram_alloc *alloc;
	unsigned long start, attempts = 0;
	int round, i, err;

	test_fill_user(test, t->addr, SZ_64K, 10);
	for (round = 0; round < SAME_PAGE_ROUNDS; round++) {
		/*
		 * The readers' last migration may still hold its new pages
		 * locked: -EBUSY is the documented answer, try again.
		 */
		for (i = 0; i < 1000; i++) {
			attempts++;
			err = test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, &alloc);
			if (err != -EBUSY)
				break;
			usleep_range(100, 200);
		}
		KUNIT_ASSERT_EQ(test, err, 0);
		for (i = 0; !round && i < SAME_PAGE_READERS; i++)
			readers[i] = test_reader_start(test, t->mm, NULL, page,
						       PAGE_SIZE,
						       test_pattern(10, SZ_16K),
						       false);
		start = jiffies;
		KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
		KUNIT_EXPECT_EQ(test, wait_for_completion_timeout(&alloc->devmem.detached,
								  50 * HZ) > 0,
				true);
		ms[round] = jiffies_to_msecs(jiffies - start);
		sum += ms[round];
		KUNIT_EXPECT_LT(test, ms[round], 50 * MSEC_PER_SEC);
	}
	for (i = 0; i < SAME_PAGE_READERS; i++) {
		test_reader_stop(readers[i]);
		KUNIT_EXPECT_EQ(test, readers[i]->err, 0);
		KUNIT_EXPECT_GT(test, readers[i]->reads, 0);
	}
	sort(ms, SAME_PAGE_ROUNDS, sizeof(ms[0]), cmp_ulong, NULL);
	kunit_info(test, "%d rounds: min %lu ms, median %lu ms, mean %lu ms, max %lu ms\n",
		   SAME_PAGE_ROUNDS, ms[0], ms[SAME_PAGE_ROUNDS / 2],
		   sum / SAME_PAGE_ROUNDS, ms[SAME_PAGE_ROUNDS - 1]);
	/* Every allocation, refused or evicted, was released once. */
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), attempts);
	test_expect_data(test, t->gpu, t->addr, SZ_64K, 10);
	expect_clean(test, t);
}

/*
 * THP-backed memory migrates (the huge page is split into the 4K device
 * pages 6.12 has) and comes back with its data.
 */
static void migrate_thp_backed_memory(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned long addr = ALIGN(test_mmap(test, SZ_4M, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE), SZ_2M);
	struct drm_gpusvm_range *range;
	struct test_vram_alloc *alloc;

	KUNIT_ASSERT_EQ(test, do_madvise(t->mm, addr, SZ_2M, MADV_HUGEPAGE), 0);
	test_fill_user(test, addr, SZ_2M, 11);
	test_expect_data(test, t->gpu, addr, SZ_2M, 11);
	range = test_gpu_range_at(t->gpu, addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_EQ(test, (unsigned int)range->pages.dma_addr[0].order,
			HPAGE_PMD_ORDER);

	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, addr + SZ_1M,
						addr + SZ_1M + SZ_256K, 0,
						&alloc), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, addr + SZ_1M, SZ_256K), 64);
	test_expect_data(test, t->gpu, addr, SZ_2M, 11);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, addr, SZ_2M), 0);
	test_expect_data(test, NULL, addr, SZ_2M, 11);
	test_expect_data(test, t->gpu, addr, SZ_2M, 11);
	expect_clean(test, t);
}

static struct kunit_case drm_gpusvm_migrate_cases[] = {
	KUNIT_CASE(migrate_gpu_reads_device_data),
	KUNIT_CASE(migrate_cpu_reads_one_page),
	KUNIT_CASE(migrate_range_half_in_ram),
	KUNIT_CASE(migrate_ping_pong),
	KUNIT_CASE(migrate_evict_while_mapped),
	KUNIT_CASE(migrate_refuses_unmigratable_memory),
	KUNIT_CASE_PARAM(migrate_callback_fails, callback_failure_gen_params),
	KUNIT_CASE(migrate_evict_copy_fails_then_retries),
	KUNIT_CASE(migrate_device_map_fails),
	KUNIT_CASE(migrate_devmem_only_and_mixed),
	KUNIT_CASE(migrate_scan_mm),
	KUNIT_CASE(migrate_teardown_with_pages_resident),
	KUNIT_CASE(migrate_munmap_releases_from_zap),
	KUNIT_CASE_PARAM(migrate_partial_munmap, partial_unmap_gen_params),
	KUNIT_CASE(migrate_private_file_cow_pages),
	KUNIT_CASE(migrate_busy_page_changes_nothing),
	KUNIT_CASE(migrate_cpu_fault_copy_fails),
	KUNIT_CASE(migrate_other_owner_gets_system_pages),
	KUNIT_CASE(migrate_populate_mm),
	KUNIT_CASE(migrate_again_is_noop),
	KUNIT_CASE(migrate_span_larger_than_allocation),
	KUNIT_CASE(migrate_survives_each_failed_allocation),
	KUNIT_CASE(evict_survives_each_failed_allocation),
	KUNIT_CASE(migrate_cpu_fault_allocation_fails),
	KUNIT_CASE(migrate_read_only_device_pages_refuse_write),
	KUNIT_CASE(migrate_read_only_device_pages_faulted_back_for_write),
	KUNIT_CASE(migrate_device_mapping_returned_as_is),
	KUNIT_CASE(migrate_each_failed_map_unwinds),
	KUNIT_CASE(range_evict_survives_each_failed_allocation),
	KUNIT_CASE(evict_nofail_survives_each_failed_map),
	KUNIT_CASE(migrate_devmem_ops_checked),
	KUNIT_CASE(migrate_thp_backed_memory),
	KUNIT_CASE(migrate_scan_mm_two_pagemaps),
	KUNIT_CASE(migrate_timeslice_holds_off_user_faults_only),
	KUNIT_CASE_SLOW(migrate_evict_while_cpu_faults),
	KUNIT_CASE_SLOW(migrate_stress_three_threads),
	KUNIT_CASE_SLOW(migrate_evict_same_page_faulters),
	KUNIT_CASE(migrate_evict_while_migrating_in),
	KUNIT_CASE_SLOW(migrate_device_fault_waits_for_cpu_fault),
	{}
};

static struct kunit_suite drm_gpusvm_migrate_suite = {
	.name = "drm_gpusvm_migrate",
	.init = migrate_test_init,
	.test_cases = drm_gpusvm_migrate_cases,
};

kunit_test_suite(drm_gpusvm_migrate_suite);
