// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of migration between system memory and device memory: the
 * test GPU with emulated VRAM, against the user address space of the test
 * thread. Every case checks the bytes the CPU and the GPU read.
 */

#include <kunit/test.h>

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
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

static u8 pattern(u8 seed, unsigned long i)
{
	return seed + i * 13;
}

static void cpu_fill(struct kunit *test, unsigned long addr, size_t len,
		     u8 seed)
{
	u8 *buf = kunit_kmalloc(test, len, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < len; i++)
		buf[i] = pattern(seed, i);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, buf, len), 0);
	kunit_kfree(test, buf);
}

/* Compare @len bytes at @addr, read by the CPU or by the GPU, with @seed. */
static void expect_data(struct kunit *test, struct test_gpu *gpu,
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
		if (buf[i] != pattern(seed, i))
			break;
	KUNIT_EXPECT_EQ_MSG(test, i, len, "%s read differs at %#lx",
			    gpu ? "GPU" : "CPU", addr + i);
	kunit_kfree(test, buf);
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

	cpu_fill(test, t->addr, SZ_64K, 1);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);

	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + SZ_64K;
	expect_data(test, t->gpu, t->addr, SZ_64K, 1);
	range = test_gpu_range_at(t->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_TRUE(test, range->pages.flags.has_devmem_pages);
	KUNIT_EXPECT_PTR_EQ(test, range->pages.dpagemap, &t->vram->dpagemap);

	/* The CPU faults the pages back and reads the same bytes. */
	expect_data(test, NULL, t->addr, SZ_64K, 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	expect_data(test, t->gpu, t->addr, SZ_64K, 1);
	expect_clean(test, t);
}

static void migrate_cpu_reads_one_page(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	cpu_fill(test, t->addr, SZ_64K, 2);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	expect_data(test, NULL, t->addr + SZ_32K, PAGE_SIZE,
		    pattern(2, SZ_32K));
	KUNIT_EXPECT_FALSE(test, test_vram_is_device_page(t->vram, t->mm,
							  t->addr + SZ_32K));
	/* Whatever stayed on the device still holds its data. */
	expect_data(test, t->gpu, t->addr, SZ_64K, 2);
	expect_clean(test, t);
}

static void migrate_range_half_in_ram(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	cpu_fill(test, t->addr, SZ_64K, 3);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 8);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	expect_data(test, t->gpu, t->addr, SZ_64K, 3);
	expect_data(test, NULL, t->addr, SZ_64K, 3);
	expect_clean(test, t);
}

static void migrate_ping_pong(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	int cycle;

	for (cycle = 0; cycle < 16; cycle++) {
		cpu_fill(test, t->addr, SZ_64K, cycle);
		KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
							t->addr + SZ_64K, 0,
							NULL), 0);
		KUNIT_ASSERT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
		expect_data(test, t->gpu, t->addr, SZ_64K, cycle);
		/* The CPU write faults every page back to RAM. */
	}
	expect_data(test, NULL, t->addr, SZ_64K, cycle - 1);
	expect_clean(test, t);
}

static void migrate_evict_while_mapped(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;

	cpu_fill(test, t->addr, SZ_64K, 5);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, &alloc), 0);
	expect_data(test, t->gpu, t->addr, SZ_64K, 5);
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(t->gpu, t->addr));

	KUNIT_ASSERT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(t->gpu, t->addr));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 1);
	expect_data(test, t->gpu, t->addr, SZ_64K, 5);
	expect_data(test, NULL, t->addr, SZ_64K, 5);
	expect_clean(test, t);
}

static void migrate_refuses_unmigratable_memory(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	unsigned long shared, none;

	shared = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE, MAP_SHARED);
	cpu_fill(test, shared, SZ_64K, 6);
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

	expect_data(test, NULL, shared, SZ_64K, 6);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->pages_in_use), 0);
	expect_clean(test, t);
}

static void migrate_vram_exhausted(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	cpu_fill(test, t->addr, SZ_64K, 7);
	t->vram->exhausted = true;
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	/* The range keeps working from system memory. */
	expect_data(test, t->gpu, t->addr, SZ_64K, 7);
	expect_clean(test, t);
}

static void migrate_copy_to_devmem_fails(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	cpu_fill(test, t->addr, SZ_64K, 8);
	t->vram->fail_copy_to_devmem = true;
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL),
			-EIO);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	expect_data(test, NULL, t->addr, SZ_64K, 8);
	expect_clean(test, t);
}

static void migrate_populate_fails(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	cpu_fill(test, t->addr, SZ_64K, 9);
	t->vram->fail_populate = true;
	KUNIT_EXPECT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	expect_data(test, t->gpu, t->addr, SZ_64K, 9);
	expect_clean(test, t);
}

static void migrate_evict_copy_fails_then_retries(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct test_vram_alloc *alloc;

	cpu_fill(test, t->addr, SZ_64K, 10);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, &alloc), 0);
	t->vram->fail_copy_to_ram = true;
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), -EIO);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_64K), 16);
	expect_data(test, t->gpu, t->addr, SZ_64K, 10);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&alloc->devmem), 0);
	expect_data(test, NULL, t->addr, SZ_64K, 10);
	expect_clean(test, t);
}

static void migrate_device_map_fails(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_range *range;

	cpu_fill(test, t->addr, SZ_64K, 11);
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
	expect_data(test, t->gpu, t->addr, SZ_64K, 11);
	expect_clean(test, t);
}

static void migrate_devmem_only_and_mixed(struct kunit *test)
{
	struct migrate_test *t = test->priv;
	struct drm_gpusvm_ctx ctx;
	struct drm_gpusvm_range *range;

	cpu_fill(test, t->addr, SZ_64K, 12);
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
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, t->gpu,
						 &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_MIXED);

	/* Evicting the range gives a system-only range again. */
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_evict(&t->gpu->gpusvm, range), 0);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, t->gpu,
						 &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_SYSTEM);
	expect_data(test, t->gpu, t->addr, SZ_64K, 12);
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
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, t->gpu,
						 &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_UNPOPULATED);
	cpu_fill(test, t->addr, SZ_64K, 13);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, t->gpu,
						 &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_SYSTEM);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, t->gpu,
						 &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_EQUAL);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, t->gpu, NULL),
			DRM_GPUSVM_SCAN_OTHER);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_evict(&t->gpu->gpusvm, range), 0);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, t->gpu,
						 &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_SYSTEM);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, t->gpu,
						 &t->vram->dpagemap),
			DRM_GPUSVM_SCAN_MIXED);
	expect_data(test, NULL, t->addr, SZ_64K, 13);
	expect_clean(test, t);
}

static void migrate_teardown_with_pages_resident(struct kunit *test)
{
	struct migrate_test *t = test->priv;

	cpu_fill(test, t->addr, SZ_256K, 14);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + SZ_64K, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm,
						t->addr + SZ_128K,
						t->addr + SZ_256K, 0, NULL), 0);
	expect_data(test, t->gpu, t->addr, SZ_256K, 14);
	test_gpu_expect_clean(t->gpu);

	/* The device goes away: its pages come home first. */
	test_vram_expect_clean(t->vram);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->releases), 2);
	KUNIT_EXPECT_EQ(test, device_pages(t, t->addr, SZ_256K), 0);
	expect_data(test, NULL, t->addr, SZ_256K, 14);
}

static struct kunit_case drm_gpusvm_migrate_cases[] = {
	KUNIT_CASE(migrate_gpu_reads_device_data),
	KUNIT_CASE(migrate_cpu_reads_one_page),
	KUNIT_CASE(migrate_range_half_in_ram),
	KUNIT_CASE(migrate_ping_pong),
	KUNIT_CASE(migrate_evict_while_mapped),
	KUNIT_CASE(migrate_refuses_unmigratable_memory),
	KUNIT_CASE(migrate_vram_exhausted),
	KUNIT_CASE(migrate_copy_to_devmem_fails),
	KUNIT_CASE(migrate_populate_fails),
	KUNIT_CASE(migrate_evict_copy_fails_then_retries),
	KUNIT_CASE(migrate_device_map_fails),
	KUNIT_CASE(migrate_devmem_only_and_mixed),
	KUNIT_CASE(migrate_scan_mm),
	KUNIT_CASE(migrate_teardown_with_pages_resident),
	{}
};

static struct kunit_suite drm_gpusvm_migrate_suite = {
	.name = "drm_gpusvm_migrate",
	.init = migrate_test_init,
	.test_cases = drm_gpusvm_migrate_cases,
};

kunit_test_suite(drm_gpusvm_migrate_suite);
