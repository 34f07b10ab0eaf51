// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the GPU SVM helpers, run against the user address space of
 * the test thread and a DRM device from the KUnit helpers.
 */

#include <kunit/test.h>

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>

#include <drm/drm_device.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_kunit_helpers.h>
#include <drm/drm_pagemap.h>
#include <drm/drm_pagemap_util.h>

#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/dma-direct.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/huge_mm.h>
#include <linux/kthread.h>
#include <linux/shmem_fs.h>
#include <linux/uaccess.h>

#include "drm_gpusvm_test_gpu.h"

static const unsigned long test_chunk_sizes[] = { SZ_2M, SZ_64K, SZ_4K };

struct gpusvm_test {
	struct drm_device *drm;
	struct mm_struct *mm;
	unsigned long addr;
};

static void test_invalidate(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_notifier *notifier,
			    const struct mmu_notifier_range *mmu_range)
{
}

static const struct drm_gpusvm_ops test_ops = {
	.invalidate = test_invalidate,
};

static const struct drm_gpusvm_ops test_ops_no_invalidate = {};

/* Give the case a user mm (its own, from the first mapping) and a drm_device. */
static int gpusvm_test_init(struct kunit *test)
{
	struct gpusvm_test *t;
	struct device *dev;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);

	t->addr = kunit_vm_mmap(test, NULL, 0, SZ_4M, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_NE(test, t->addr, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(t->addr));
	t->mm = current->mm;
	KUNIT_ASSERT_NOT_NULL(test, t->mm);

	dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	t->drm = __drm_kunit_helper_alloc_drm_device(test, dev,
						     sizeof(*t->drm), 0, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->drm);

	test->priv = t;
	return 0;
}

static void drm_gpusvm_init_full_instance_grabs_mm(struct kunit *test)
{
	struct gpusvm_test *t = test->priv;
	struct drm_gpusvm gpusvm;
	int mm_count = atomic_read(&t->mm->mm_count);

	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&gpusvm, "test", t->drm, t->mm,
					      0, TASK_SIZE, SZ_512M, &test_ops,
					      test_chunk_sizes,
					      ARRAY_SIZE(test_chunk_sizes)), 0);
	KUNIT_EXPECT_PTR_EQ(test, gpusvm.mm, t->mm);
	KUNIT_EXPECT_PTR_EQ(test, gpusvm.drm, t->drm);
	KUNIT_EXPECT_EQ(test, gpusvm.notifier_size, SZ_512M);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count + 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&gpusvm.notifier_list));

	drm_gpusvm_fini(&gpusvm);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count);
}

static void drm_gpusvm_init_single_chunk_window(struct kunit *test)
{
	static const unsigned long only_4k[] = { SZ_4K };
	struct gpusvm_test *t = test->priv;
	struct drm_gpusvm gpusvm;
	int mm_count = atomic_read(&t->mm->mm_count);

	/* The smallest legal instance: one page, one 4K chunk, 4K notifiers. */
	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&gpusvm, "test", t->drm, t->mm,
					      t->addr, PAGE_SIZE, SZ_4K,
					      &test_ops, only_4k, 1), 0);
	drm_gpusvm_fini(&gpusvm);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count);
}

static void drm_gpusvm_init_pages_only_instance(struct kunit *test)
{
	struct gpusvm_test *t = test->priv;
	struct drm_gpusvm gpusvm;
	int mm_count = atomic_read(&t->mm->mm_count);

	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&gpusvm, "userptr", t->drm, NULL,
					      0, 0, 0, NULL, NULL, 0), 0);
	KUNIT_EXPECT_NULL(test, gpusvm.mm);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count);
	drm_gpusvm_fini(&gpusvm);
}

/* One argument of drm_gpusvm_init() broken at a time. */
struct init_args {
	const char *desc;
	bool full;		/* a full instance (mm set) or a pages-only one */
	unsigned long mm_start;
	unsigned long mm_range;
	unsigned long notifier_size;
	const struct drm_gpusvm_ops *ops;
	const unsigned long *chunk_sizes;
	int num_chunks;
};

static const unsigned long chunks_ascending[] = { SZ_4K, SZ_64K, SZ_2M };
static const unsigned long chunks_repeated[] = { SZ_2M, SZ_2M, SZ_4K };
static const unsigned long chunks_not_pow2[] = { SZ_2M, SZ_64K + SZ_4K, SZ_4K };
static const unsigned long chunks_last_not_4k[] = { SZ_2M, SZ_64K };
static const unsigned long chunks_last_8k[] = { SZ_2M, SZ_8K };

/* A full instance, every argument explicit; the row's name says which is bad. */
#define FULL_N(desc_, start_, range_, nsize_, ops_, chunks_, nchunks_) \
	{ .desc = desc_, .full = true, .mm_start = start_, .mm_range = range_, \
	  .notifier_size = nsize_, .ops = ops_, .chunk_sizes = chunks_, \
	  .num_chunks = nchunks_ }
#define FULL(desc_, start_, range_, nsize_, ops_) \
	FULL_N(desc_, start_, range_, nsize_, ops_, test_chunk_sizes, \
	       ARRAY_SIZE(test_chunk_sizes))
#define OPS	(&test_ops)
#define TOP_1M	(ULONG_MAX - SZ_1M + 1)

static const struct init_args invalid_init_args[] = {
	FULL("unaligned mm_start", SZ_4K + 1, SZ_1G, SZ_512M, OPS),
	FULL("unaligned mm_range", 0, SZ_1G - 1, SZ_512M, OPS),
	FULL("zero mm_range", 0, 0, SZ_512M, OPS),
	FULL("window wraps", TOP_1M, SZ_2M, SZ_512M, OPS),
	FULL("window ends at 2^64", TOP_1M, SZ_1M, SZ_512M, OPS),
	FULL("notifier_size not a power of two", 0, SZ_1G, SZ_512M + SZ_2M,
	     OPS),
	FULL("zero notifier_size", 0, SZ_1G, 0, OPS),
	FULL("first chunk above notifier_size", 0, SZ_1G, SZ_1M, OPS),
	FULL_N("chunks ascending", 0, SZ_1G, SZ_512M, OPS, chunks_ascending,
	       ARRAY_SIZE(chunks_ascending)),
	FULL_N("chunks repeated", 0, SZ_1G, SZ_512M, OPS, chunks_repeated,
	       ARRAY_SIZE(chunks_repeated)),
	FULL_N("chunk not a power of two", 0, SZ_1G, SZ_512M, OPS,
	       chunks_not_pow2, ARRAY_SIZE(chunks_not_pow2)),
	FULL_N("last chunk 64K", 0, SZ_1G, SZ_512M, OPS, chunks_last_not_4k,
	       ARRAY_SIZE(chunks_last_not_4k)),
	FULL_N("last chunk 8K", 0, SZ_1G, SZ_512M, OPS, chunks_last_8k,
	       ARRAY_SIZE(chunks_last_8k)),
	FULL_N("no chunk sizes", 0, SZ_1G, SZ_512M, OPS, NULL, 0),
	FULL_N("zero chunks", 0, SZ_1G, SZ_512M, OPS, test_chunk_sizes, 0),
	FULL_N("negative chunks", 0, SZ_1G, SZ_512M, OPS, test_chunk_sizes, -1),
	FULL("no ops", 0, SZ_1G, SZ_512M, NULL),
	FULL("no invalidate op", 0, SZ_1G, SZ_512M, &test_ops_no_invalidate),
	{ .desc = "pages-only with mm_start", .mm_start = SZ_4K },
	{ .desc = "pages-only with mm_range", .mm_range = SZ_4K },
	{ .desc = "pages-only with notifier_size", .notifier_size = SZ_512M },
	{ .desc = "pages-only with ops", .ops = &test_ops },
	{ .desc = "pages-only with chunk sizes", .chunk_sizes = test_chunk_sizes },
	{ .desc = "pages-only with num_chunks", .num_chunks = 1 },
};

static void init_args_desc(const struct init_args *args, char *desc)
{
	strscpy(desc, args->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(invalid_init, invalid_init_args, init_args_desc);

static void drm_gpusvm_init_rejects_invalid_args(struct kunit *test)
{
	const struct init_args *args = test->param_value;
	struct gpusvm_test *t = test->priv;
	struct drm_gpusvm gpusvm;
	int mm_count = atomic_read(&t->mm->mm_count);

	KUNIT_EXPECT_EQ(test, drm_gpusvm_init(&gpusvm, "test", t->drm,
					      args->full ? t->mm : NULL,
					      args->mm_start, args->mm_range,
					      args->notifier_size, args->ops,
					      args->chunk_sizes,
					      args->num_chunks), -EINVAL);
	/* A refused init takes no reference on the mm. */
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count);
}

#if !IS_ENABLED(CONFIG_DEVICE_PRIVATE)
/*
 * Without device-private memory a driver's calls into drm_pagemap still link
 * and fail cleanly: nothing can migrate, no page belongs to a pagemap.
 */
static void drm_pagemap_stubs_without_device_private(struct kunit *test)
{
	struct gpusvm_test *t = test->priv;
	struct drm_pagemap_owner_list owners;
	struct drm_pagemap_devmem devmem = {};
	struct drm_pagemap dpagemap = {};
	struct drm_pagemap_peer peer = {};

	drm_pagemap_owner_list_init(&owners);
	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(&peer, &owners, NULL),
			-EOPNOTSUPP);
	drm_pagemap_release_owner(&peer);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(&dpagemap, NULL, NULL, NULL),
			-EOPNOTSUPP);
	KUNIT_EXPECT_PTR_EQ(test, drm_pagemap_get(&dpagemap), &dpagemap);
	drm_pagemap_put(&dpagemap);
	KUNIT_EXPECT_NULL(test, drm_pagemap_page_to_dpagemap(ZERO_PAGE(0)));
	KUNIT_EXPECT_NULL(test, drm_pagemap_pagemap_ops_get());
	drm_pagemap_devmem_init(&devmem, NULL, t->mm, NULL, &dpagemap, SZ_64K);
	KUNIT_EXPECT_EQ(test, drm_pagemap_migrate_to_devmem(&devmem, t->mm, 0,
							    SZ_64K, 0, NULL),
			-EOPNOTSUPP);
	/* The caller's reference is consumed, as with device memory. */
	KUNIT_EXPECT_TRUE(test, completion_done(&devmem.detached));
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&devmem), 0);
	drm_pagemap_evict_to_ram_nofail(&devmem);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&dpagemap, 0, SZ_64K,
						      t->mm, 0), -EOPNOTSUPP);
}
#endif

static struct kunit_case drm_gpusvm_init_cases[] = {
	KUNIT_CASE(drm_gpusvm_init_full_instance_grabs_mm),
	KUNIT_CASE(drm_gpusvm_init_single_chunk_window),
	KUNIT_CASE(drm_gpusvm_init_pages_only_instance),
	KUNIT_CASE_PARAM(drm_gpusvm_init_rejects_invalid_args,
			 invalid_init_gen_params),
#if !IS_ENABLED(CONFIG_DEVICE_PRIVATE)
	KUNIT_CASE(drm_pagemap_stubs_without_device_private),
#endif
	{}
};

static struct kunit_suite drm_gpusvm_init_suite = {
	.name = "drm_gpusvm_init",
	.init = gpusvm_test_init,
	.test_cases = drm_gpusvm_init_cases,
};

/* A 2M-aligned anonymous span of @len inside a fresh mapping of @len + 2M. */
static unsigned long test_mmap_aligned(struct kunit *test, unsigned long len,
				       unsigned long prot)
{
	unsigned long addr = test_mmap(test, len + SZ_2M, prot, MAP_PRIVATE);

	return ALIGN(addr, SZ_2M);
}

static void expect_gpu_reads_zero(struct kunit *test, struct test_gpu *gpu,
				  unsigned long addr, size_t len)
{
	u8 *buf = kunit_kmalloc(test, len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, 0xa5, len);
	KUNIT_ASSERT_EQ(test, test_gpu_read(gpu, addr, buf, len), 0);
	KUNIT_EXPECT_NULL(test, memchr_inv(buf, 0, len));
	kunit_kfree(test, buf);
}

static unsigned long range_size_at(struct test_gpu *gpu, unsigned long addr)
{
	struct drm_gpusvm_range *range = test_gpu_range_at(gpu, addr);

	return range ? drm_gpusvm_range_size(range) : 0;
}

/* --- Anonymous memory ---------------------------------------------------- */

static void gpusvm_anon_untouched_reads_zero(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	expect_gpu_reads_zero(test, gpu, addr + SZ_64K + 12, 300);
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(gpu, addr + SZ_64K));
	test_gpu_expect_clean(gpu);
}

/* The first DMA entry of the range at @addr, under the notifier lock. */
static struct drm_pagemap_addr first_entry(struct test_gpu *gpu,
					   unsigned long addr)
{
	struct drm_gpusvm_range *range = test_gpu_range_at(gpu, addr);
	struct drm_pagemap_addr entry = {
		.addr = DMA_MAPPING_ERROR,
	};

	drm_gpusvm_notifier_lock(&gpu->gpusvm);
	if (range && drm_gpusvm_range_pages_valid(&gpu->gpusvm, range))
		entry = range->pages.dma_addr[0];
	drm_gpusvm_notifier_unlock(&gpu->gpusvm);
	return entry;
}

static void gpusvm_anon_zero_page_read_only(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	struct drm_pagemap_addr entry;
	struct page *zero;

	/* A read-only GPU VM maps the shared zero page of untouched memory... */
	gpu->ctx.read_only = true;
	expect_gpu_reads_zero(test, gpu, addr, PAGE_SIZE);
	entry = first_entry(gpu, addr);
	KUNIT_EXPECT_EQ(test, (unsigned int)entry.proto, DRM_INTERCONNECT_SYSTEM);
	zero = pfn_to_page(PHYS_PFN(dma_to_phys(gpu->drm->dev, entry.addr)));
	/* THP is on: the huge zero page, else the zero page. */
	KUNIT_EXPECT_TRUE(test, is_huge_zero_folio(page_folio(zero)) ||
			  is_zero_pfn(page_to_pfn(zero)));
	/* ...for the device to read only. */
	KUNIT_EXPECT_EQ(test, (unsigned int)entry.dir, DMA_TO_DEVICE);
	test_gpu_expect_clean(gpu);
}

/*
 * A current read-only mapping serves reads as it is, and is left alone when
 * write is wanted: the GPU may still use it. The driver zaps, unmaps and
 * faults again, and only then gets a writable mapping.
 */
static void gpusvm_read_only_mapping_kept_for_write(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	struct drm_pagemap_addr before, after;
	struct drm_gpusvm_range *range;
	struct drm_gpusvm_ctx ctx;
	u64 val = 0xfeedfacecafef00dULL, cpu = 0;
	int read_err, write_err;

	test_fill_user(test, addr, SZ_64K, 4);
	gpu->ctx.read_only = true;
	test_expect_data(test, gpu, addr, SZ_64K, 4);
	range = test_gpu_range_at(gpu, addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	before = first_entry(gpu, addr);
	KUNIT_EXPECT_EQ(test, (unsigned int)before.dir, DMA_TO_DEVICE);

	ctx = gpu->ctx;
	mutex_lock(&gpu->lock);
	read_err = drm_gpusvm_range_get_pages(&gpu->gpusvm, range, &ctx);
	ctx.read_only = false;
	write_err = drm_gpusvm_range_get_pages(&gpu->gpusvm, range, &ctx);
	mutex_unlock(&gpu->lock);
	KUNIT_EXPECT_EQ(test, read_err, 0);
	KUNIT_EXPECT_EQ(test, write_err, -EEXIST);

	/* Untouched: the same mapping, still valid, still in the GPU PTEs. */
	after = first_entry(gpu, addr);
	KUNIT_EXPECT_EQ(test, after.addr, before.addr);
	KUNIT_EXPECT_EQ(test, (unsigned int)after.dir, DMA_TO_DEVICE);
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(gpu, addr));

	/* The GPU's write faults; the fault handler replaces the mapping. */
	gpu->ctx.read_only = false;
	KUNIT_ASSERT_EQ(test, test_gpu_write(gpu, addr + 8, &val, sizeof(val)), 0);
	KUNIT_EXPECT_EQ(test, (unsigned int)first_entry(gpu, addr).dir, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_EQ(test, copy_from_user(&cpu, (void __user *)addr + 8,
					     sizeof(cpu)), 0);
	KUNIT_EXPECT_EQ(test, cpu, val);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_anon_reads_cpu_writes(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	test_fill_user(test, addr, SZ_64K, 3);
	test_expect_data(test, gpu, addr, SZ_64K, 3);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_anon_gpu_write_seen_by_cpu(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	u64 val = 0x0123456789abcdefULL, cpu = 0;

	test_fill_user(test, addr, PAGE_SIZE, 1);
	KUNIT_ASSERT_EQ(test, test_gpu_write(gpu, addr + 8, &val, sizeof(val)), 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(&cpu, (void __user *)addr + 8,
					     sizeof(cpu)), 0);
	KUNIT_EXPECT_EQ(test, cpu, val);
	test_gpu_expect_clean(gpu);
}

/* --- Permissions --------------------------------------------------------- */

static void gpusvm_read_only_vma_read_works(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ, MAP_PRIVATE);

	gpu->ctx.read_only = true;
	expect_gpu_reads_zero(test, gpu, addr, SZ_64K);
	KUNIT_EXPECT_EQ(test, (unsigned int)first_entry(gpu, addr).dir, DMA_TO_DEVICE);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_read_only_vma_write_eperm(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ, MAP_PRIVATE);
	u8 byte = 1;

	KUNIT_EXPECT_EQ(test, test_gpu_write(gpu, addr, &byte, 1), -EPERM);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpu, addr));
	test_gpu_expect_clean(gpu);
}

static void gpusvm_prot_none_eperm(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_NONE, MAP_PRIVATE);
	u8 byte;

	gpu->ctx.read_only = true;
	KUNIT_EXPECT_EQ(test, test_gpu_read(gpu, addr, &byte, 1), -EPERM);
	test_gpu_expect_clean(gpu);
}

static int test_pfnmap_mmap(struct file *file, struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

static const struct file_operations test_pfnmap_fops = {
	.owner = THIS_MODULE,
	.mmap = test_pfnmap_mmap,
};

static void test_fput(void *file)
{
	fput(file);
}

static void gpusvm_pfnmap_eopnotsupp(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct file *file;
	unsigned long addr;
	u8 byte;

	file = anon_inode_getfile("gpusvm-pfnmap", &test_pfnmap_fops, NULL,
				  O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, test_fput, file), 0);
	addr = test_mmap_file(test, file, SZ_64K, PROT_READ | PROT_WRITE,
			      MAP_SHARED);

	KUNIT_EXPECT_EQ(test, test_gpu_read(gpu, addr, &byte, 1), -EOPNOTSUPP);
	test_gpu_expect_clean(gpu);
}

/* --- File-backed memory -------------------------------------------------- */

static struct file *test_shmem_file(struct kunit *test, loff_t size)
{
	struct file *file = shmem_kernel_file_setup("gpusvm-test", size, 0);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, test_fput, file), 0);
	return file;
}

static void gpusvm_shmem_shared(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct file *file = test_shmem_file(test, SZ_1M);
	unsigned long addr;
	u32 val = 0xfeedf00d, cpu = 0;

	addr = test_mmap_file(test, file, SZ_1M, PROT_READ | PROT_WRITE,
			      MAP_SHARED);
	test_fill_user(test, addr, SZ_128K, 9);
	test_expect_data(test, gpu, addr, SZ_128K, 9);
	KUNIT_ASSERT_EQ(test, test_gpu_write(gpu, addr + SZ_256K, &val,
					     sizeof(val)), 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(&cpu, (void __user *)addr + SZ_256K,
					     sizeof(cpu)), 0);
	KUNIT_EXPECT_EQ(test, cpu, val);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_shmem_private(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct file *file = test_shmem_file(test, SZ_1M);
	unsigned long addr;

	addr = test_mmap_file(test, file, SZ_1M, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE);
	test_fill_user(test, addr + SZ_64K, SZ_64K, 17);
	test_expect_data(test, gpu, addr + SZ_64K, SZ_64K, 17);
	/* Untouched private file pages read as the (empty) file. */
	expect_gpu_reads_zero(test, gpu, addr + SZ_512K, PAGE_SIZE);
	test_gpu_expect_clean(gpu);
}

/* --- Transparent huge pages ---------------------------------------------- */

static unsigned long test_thp(struct kunit *test, u8 seed)
{
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, SZ_2M,
					 MADV_HUGEPAGE), 0);
	test_fill_user(test, addr, SZ_2M, seed);
	return addr;
}

static void gpusvm_thp_maps_one_2m_entry(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_thp(test, 5);
	struct drm_gpusvm_range *range;

	test_expect_data(test, gpu, addr, SZ_2M, 5);
	range = test_gpu_range_at(gpu, addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(range), SZ_2M);
	KUNIT_EXPECT_EQ(test, test_gpu_dma_entries(gpu), 1);
	KUNIT_EXPECT_EQ(test, (unsigned int)range->pages.dma_addr[0].order,
			get_order(SZ_2M));
	test_gpu_expect_clean(gpu);
}

static void gpusvm_thp_small_range_maps_own_pages(struct kunit *test)
{
	static const unsigned long chunks[] = { SZ_64K, SZ_4K };
	struct test_gpu *gpu = test_gpu_create(test, 0, TASK_SIZE, SZ_512M,
					       chunks, ARRAY_SIZE(chunks));
	unsigned long addr = test_thp(test, 6);
	struct drm_gpusvm_range *range;

	test_expect_data(test, gpu, addr + SZ_1M, SZ_4K, test_pattern(6, SZ_1M));
	range = test_gpu_range_at(gpu, addr + SZ_1M);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(range), addr + SZ_1M);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	/* One order-4 entry: inside the THP, but not past the range. */
	KUNIT_EXPECT_EQ(test, test_gpu_dma_entries(gpu), 1);
	KUNIT_EXPECT_EQ(test, (unsigned int)range->pages.dma_addr[0].order,
			get_order(SZ_64K));
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpu, addr + SZ_1M - SZ_4K));
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpu, addr + SZ_1M + SZ_64K));
	test_gpu_expect_clean(gpu);
}

static void gpusvm_thp_misaligned_range_maps_own_pages(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_thp(test, 7);
	struct drm_gpusvm_range *range;

	/* The GPU VA window cuts the THP: only its 4K-aligned part maps. */
	gpu->gpuva_start = addr + SZ_4K;
	gpu->gpuva_end = addr + SZ_4K * 3;
	test_expect_data(test, gpu, addr + SZ_4K, SZ_4K, test_pattern(7, SZ_4K));
	range = test_gpu_range_at(gpu, addr + SZ_4K);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(range), SZ_4K);
	KUNIT_EXPECT_EQ(test, (unsigned int)range->pages.dma_addr[0].order, 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpu, addr));
	test_gpu_expect_clean(gpu);
}

/* --- Chunk selection ----------------------------------------------------- */

static void gpusvm_chunk_2m_when_vma_allows(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_4M, PROT_READ | PROT_WRITE);

	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_2M + 123, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_2M), SZ_2M);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(test_gpu_range_at(gpu, addr + SZ_2M)),
			addr + SZ_2M);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_chunk_shrinks_to_vma_end(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	/* The VMA ends 64K + 4K into a 2M window. */
	vm_munmap(addr + SZ_64K + SZ_4K, SZ_2M - SZ_64K - SZ_4K);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr), SZ_64K);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_64K, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_64K), SZ_4K);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_chunk_shrinks_to_vma_start(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	/* The VMA starts 4K into a 64K window. */
	vm_munmap(addr, SZ_4K);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_8K, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_8K), SZ_4K);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_64K, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_64K), SZ_64K);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_chunk_shrinks_for_neighbour_range(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	/* A 64K range in the middle of the 2M window... */
	gpu->gpuva_start = addr + SZ_1M;
	gpu->gpuva_end = addr + SZ_1M + SZ_64K;
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_1M, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_1M), SZ_64K);

	/* ...keeps later faults in the window to 64K chunks around it. */
	gpu->gpuva_start = addr;
	gpu->gpuva_end = addr + SZ_2M;
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_1M - 1, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_1M - 1), SZ_64K);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_1M + SZ_64K, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_1M + SZ_64K), SZ_64K);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_chunk_shrinks_to_gpuva_window(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	gpu->gpuva_start = addr + SZ_64K;
	gpu->gpuva_end = addr + SZ_256K;
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_128K, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_128K), SZ_64K);
	/* Outside the GPU VA window: refused. */
	KUNIT_EXPECT_EQ(test, test_gpu_fault(gpu, addr, false), -EINVAL);
	KUNIT_EXPECT_EQ(test, test_gpu_fault(gpu, addr + SZ_256K, false), -EINVAL);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_chunk_shrinks_to_mirrored_window(struct kunit *test)
{
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	struct test_gpu *gpu = test_gpu_create(test, addr + SZ_64K, SZ_64K * 3,
					       SZ_512M, test_gpu_chunk_sizes,
					       ARRAY_SIZE(test_gpu_chunk_sizes));

	/* First and last byte of the mirrored window, and just outside. */
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_64K, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_64K), SZ_64K);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_256K - 1, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_256K - 1), SZ_64K);
	KUNIT_EXPECT_EQ(test, test_gpu_fault(gpu, addr + SZ_64K - 1, false), -EINVAL);
	KUNIT_EXPECT_EQ(test, test_gpu_fault(gpu, addr + SZ_256K, false), -EINVAL);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_chunk_shrinks_to_notifier_window(struct kunit *test)
{
	static const unsigned long chunks[] = { SZ_64K, SZ_4K };
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	struct test_gpu *gpu = test_gpu_create(test, 0, TASK_SIZE, SZ_64K,
					       chunks, ARRAY_SIZE(chunks));

	/* Each 64K notifier window holds its own range. */
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr, false), 0);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_64K, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr), SZ_64K);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 2);
	KUNIT_EXPECT_PTR_NE(test, test_gpu_range_at(gpu, addr)->notifier,
			    test_gpu_range_at(gpu, addr + SZ_64K)->notifier);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_chunk_check_pages_threshold(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	/* No THP, or the first touch would populate the whole 2M. */
	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, SZ_2M,
					 MADV_NOHUGEPAGE), 0);
	gpu->ctx.check_pages_threshold = SZ_64K;
	/* Some pages of the 64K window are missing: take 4K. */
	test_fill_user(test, addr + SZ_1M, SZ_4K, 1);
	gpu->gpuva_start = addr + SZ_1M;
	gpu->gpuva_end = addr + SZ_1M + SZ_64K;
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_1M, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr + SZ_1M), SZ_4K);

	/* Every page present: the 64K chunk is taken. */
	test_fill_user(test, addr, SZ_64K, 2);
	gpu->gpuva_start = addr;
	gpu->gpuva_end = addr + SZ_64K;
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr, false), 0);
	KUNIT_EXPECT_EQ(test, range_size_at(gpu, addr), SZ_64K);
	test_gpu_expect_clean(gpu);
}

/* --- Invalidation -------------------------------------------------------- */

static void gpusvm_munmap_whole_range(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct drm_gpusvm_range *range;

	test_fill_user(test, addr, SZ_64K, 4);
	test_expect_data(test, gpu, addr, SZ_64K, 4);
	range = drm_gpusvm_range_get(test_gpu_range_at(gpu, addr));

	vm_munmap(addr, SZ_64K);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpu, addr));
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_FALSE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);

	/* The garbage collector removes the range and its notifier. */
	mutex_lock(&gpu->lock);
	test_gpu_garbage_collect(gpu);
	mutex_unlock(&gpu->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&gpu->ranges), 1);
	drm_gpusvm_range_put(range);
	KUNIT_EXPECT_EQ(test, atomic_read(&gpu->ranges), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_has_mapping(gpu, addr, addr + SZ_64K));
	test_gpu_expect_clean(gpu);
}

static void gpusvm_munmap_part_sets_partial_unmap(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	struct drm_gpusvm_range *range;

	test_fill_user(test, addr, SZ_2M, 8);
	test_expect_data(test, gpu, addr, SZ_4K, 8);
	range = test_gpu_range_at(gpu, addr);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_2M);

	vm_munmap(addr + SZ_1M, SZ_64K);
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpu, addr));

	/* After collection, the surviving parts map again with their data. */
	test_expect_data(test, gpu, addr, SZ_64K, 8);
	test_expect_data(test, gpu, addr + SZ_1M + SZ_64K, SZ_4K,
			 test_pattern(8, SZ_1M + SZ_64K));
	KUNIT_EXPECT_LT(test, range_size_at(gpu, addr), SZ_2M);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_madvise_dontneed_refaults_fresh(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	struct drm_gpusvm_range *range;

	test_fill_user(test, addr, SZ_64K, 10);
	test_expect_data(test, gpu, addr, SZ_64K, 10);
	range = test_gpu_range_at(gpu, addr);

	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, SZ_64K,
					 MADV_DONTNEED), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpu, addr));
	/* Not an unmap: the range stays, without pages. */
	KUNIT_EXPECT_FALSE(test, range->flags.unmapped);
	KUNIT_EXPECT_PTR_EQ(test, test_gpu_range_at(gpu, addr), range);
	expect_gpu_reads_zero(test, gpu, addr, SZ_64K);

	test_fill_user(test, addr, SZ_64K, 11);
	test_expect_data(test, gpu, addr, SZ_64K, 11);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_madvise_dontneed_part_of_range(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	test_fill_user(test, addr, SZ_128K, 12);
	test_expect_data(test, gpu, addr, SZ_128K, 12);
	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr + SZ_64K, SZ_4K,
					 MADV_DONTNEED), 0);
	/* The other pages keep their data; the dropped one reads zero. */
	test_expect_data(test, gpu, addr, SZ_64K, 12);
	expect_gpu_reads_zero(test, gpu, addr + SZ_64K, SZ_4K);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_gc_empties_notifiers(struct kunit *test)
{
	static const unsigned long chunks[] = { SZ_64K, SZ_4K };
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	struct test_gpu *gpu = test_gpu_create(test, 0, TASK_SIZE, SZ_1M,
					       chunks, ARRAY_SIZE(chunks));

	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr, false), 0);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr + SZ_1M, false), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 2);

	vm_munmap(addr, SZ_2M);
	mutex_lock(&gpu->lock);
	test_gpu_garbage_collect(gpu);
	mutex_unlock(&gpu->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&gpu->ranges), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_has_notifier(gpu, addr, addr + SZ_2M));
	test_gpu_expect_clean(gpu);
}

static void gpusvm_remap_gives_new_data(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	unsigned long again;

	test_fill_user(test, addr, SZ_64K, 13);
	test_expect_data(test, gpu, addr, SZ_64K, 13);

	vm_munmap(addr, SZ_64K);
	again = vm_mmap(NULL, addr, SZ_64K, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	KUNIT_ASSERT_EQ(test, again, addr);
	test_fill_user(test, addr, SZ_64K, 14);
	test_expect_data(test, gpu, addr, SZ_64K, 14);
	test_gpu_expect_clean(gpu);
	vm_munmap(addr, SZ_64K);
}

/* --- Lifetimes ----------------------------------------------------------- */

static void gpusvm_fini_with_live_ranges(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_4M, PROT_READ | PROT_WRITE);

	test_fill_user(test, addr, SZ_4M, 15);
	test_expect_data(test, gpu, addr, SZ_4K, 15);
	test_expect_data(test, gpu, addr + SZ_2M + SZ_64K, SZ_4K,
			 test_pattern(15, SZ_2M + SZ_64K));
	KUNIT_EXPECT_EQ(test, atomic_read(&gpu->ranges), 2);
	KUNIT_EXPECT_GT(test, test_gpu_dma_entries(gpu), 0);
	test_gpu_expect_clean(gpu);
	/* The CPU side is untouched by the teardown. */
	vm_munmap(addr, SZ_4M);
}

static void gpusvm_range_ref_outlives_removal(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct drm_gpusvm_range *range;

	KUNIT_ASSERT_EQ(test, test_gpu_fault(gpu, addr, false), 0);
	range = drm_gpusvm_range_get(test_gpu_range_at(gpu, addr));
	mutex_lock(&gpu->lock);
	drm_gpusvm_range_remove(&gpu->gpusvm, range);
	mutex_unlock(&gpu->lock);

	KUNIT_EXPECT_NULL(test, test_gpu_range_at(gpu, addr));
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	/* The reference keeps the range readable. */
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(range), addr);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, atomic_read(&gpu->ranges), 1);
	drm_gpusvm_range_put(range);
	KUNIT_EXPECT_EQ(test, atomic_read(&gpu->ranges), 0);
	test_gpu_expect_clean(gpu);
}

static u8 read_dma_byte(struct drm_device *drm, struct drm_gpusvm_pages *pages,
			unsigned long offset)
{
	unsigned long index = offset >> PAGE_SHIFT, i = 0;
	struct drm_pagemap_addr *addr = pages->dma_addr;
	u8 *vaddr, byte;
	struct page *page;

	while (i + (1UL << addr->order) <= index)
		i += 1UL << (addr++)->order;
	page = pfn_to_page(PHYS_PFN(dma_to_phys(drm->dev, addr->addr)) +
			   index - i);
	vaddr = kmap_local_page(page);
	byte = vaddr[offset_in_page(offset)];
	kunmap_local(vaddr);
	return byte;
}

static void gpusvm_userptr_pages_only_instance(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct drm_gpusvm_ctx ctx = {};
	struct test_userptr *up;
	u8 byte = 0;

	up = test_userptr_create(test, gpu, addr, SZ_64K);

	test_fill_user(test, addr, SZ_64K, 20);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr, addr + SZ_64K, &ctx), 0);
	down_read(&up->gpusvm.notifier_lock);
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_pages_valid(&up->gpusvm, &up->pages));
	byte = read_dma_byte(gpu->drm, &up->pages, SZ_32K + 5);
	up_read(&up->gpusvm.notifier_lock);
	KUNIT_EXPECT_EQ(test, byte, test_pattern(20, SZ_32K + 5));

	/* The same page is mapped by the full instance too: DMA-API clean. */
	test_expect_data(test, gpu, addr, SZ_64K, 20);

	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, SZ_4K,
					 MADV_DONTNEED), 0);
	KUNIT_EXPECT_GT(test, up->invalidations, 0);
	down_read(&up->gpusvm.notifier_lock);
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_pages_valid(&up->gpusvm, &up->pages));
	up_read(&up->gpusvm.notifier_lock);

	/* Collect again: fresh pages, the data of the untouched ones. */
	KUNIT_ASSERT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr, addr + SZ_64K, &ctx), 0);
	down_read(&up->gpusvm.notifier_lock);
	KUNIT_EXPECT_EQ(test, read_dma_byte(gpu->drm, &up->pages, 0), 0);
	KUNIT_EXPECT_EQ(test, read_dma_byte(gpu->drm, &up->pages, SZ_8K),
			test_pattern(20, SZ_8K));
	up_read(&up->gpusvm.notifier_lock);

	mmu_interval_notifier_remove(&up->notifier);
	drm_gpusvm_free_pages(&up->gpusvm, &up->pages, up->npages);
	KUNIT_EXPECT_NULL(test, up->pages.dma_addr);
	KUNIT_EXPECT_FALSE(test, up->pages.flags.has_dma_mapping);
	drm_gpusvm_fini(&up->gpusvm);
	test_gpu_expect_clean(gpu);
}

/*
 * A userptr that starts inside a THP, at no 2M (nor 64K) boundary: entries
 * are as large as the THP allows but never cross the span's ends, each one
 * naturally aligned, and the bytes behind them are the CPU's.
 */
static void gpusvm_userptr_thp_unaligned_start(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	unsigned long start = addr + SZ_64K + SZ_4K, i, j;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_pagemap_addr *entry;
	struct test_userptr *up;
	unsigned int max_order = 0;

	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, SZ_2M,
					 MADV_HUGEPAGE), 0);
	test_fill_user(test, addr, SZ_2M, 21);
	up = test_userptr_create(test, gpu, start, SZ_1M);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   start, start + SZ_1M, &ctx), 0);

	down_read(&up->gpusvm.notifier_lock);
	for (i = 0, j = 0; i < up->npages; i += 1UL << entry->order, j++) {
		entry = &up->pages.dma_addr[j];
		max_order = max_t(unsigned int, max_order, entry->order);
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(start + (i << PAGE_SHIFT),
						   PAGE_SIZE << entry->order));
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(dma_to_phys(gpu->drm->dev,
							       entry->addr),
						   PAGE_SIZE << entry->order));
	}
	KUNIT_EXPECT_EQ(test, i, up->npages);
	KUNIT_EXPECT_EQ(test, (unsigned int)up->pages.dma_addr[0].order, 0);
	/* [512K, 1M) of the THP is the largest aligned block inside. */
	KUNIT_EXPECT_EQ(test, max_order, 7);
	for (i = 0; i < SZ_1M; i += SZ_64K + 17)
		KUNIT_EXPECT_EQ(test, read_dma_byte(gpu->drm, &up->pages, i),
				test_pattern(21, start - addr + i));
	up_read(&up->gpusvm.notifier_lock);

	mmu_interval_notifier_remove(&up->notifier);
	drm_gpusvm_free_pages(&up->gpusvm, &up->pages, up->npages);
	drm_gpusvm_fini(&up->gpusvm);
	test_gpu_expect_clean(gpu);
}

/* --- Bad input ----------------------------------------------------------- */

static void gpusvm_bad_fault_addresses(struct kunit *test)
{
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	struct test_gpu *gpu = test_gpu_create(test, addr, SZ_1M, SZ_512M,
					       test_gpu_chunk_sizes,
					       ARRAY_SIZE(test_gpu_chunk_sizes));
	struct drm_gpusvm_range *range;

	mutex_lock(&gpu->lock);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, addr - 1, addr,
						addr + SZ_1M, &gpu->ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, addr + SZ_1M,
						addr, addr + SZ_2M, &gpu->ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	/* Empty, reversed and wrapping GPU VA windows. */
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, addr, addr, addr,
						&gpu->ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, addr,
						addr + SZ_1M, addr, &gpu->ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, addr, addr,
						0, &gpu->ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, ULONG_MAX, addr,
						addr + SZ_1M, &gpu->ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EINVAL);
	mutex_unlock(&gpu->lock);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_no_vma_enoent(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);

	vm_munmap(addr, SZ_64K);
	KUNIT_EXPECT_EQ(test, test_gpu_fault(gpu, addr, false), -ENOENT);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_find_vma_start(&gpu->gpusvm, addr,
							addr + SZ_64K),
			ULONG_MAX);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_find_vma_start(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);

	vm_munmap(addr, SZ_64K);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_find_vma_start(&gpu->gpusvm, addr,
							addr + SZ_128K),
			addr + SZ_64K);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_exited_mm_efault(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct drm_gpusvm gpusvm;
	struct drm_gpusvm_range *range;
	struct mm_struct *mm;

	mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, mm);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&gpusvm, "exited", gpu->drm, mm,
					      0, TASK_SIZE, SZ_512M,
					      gpu->gpusvm.ops,
					      test_gpu_chunk_sizes,
					      ARRAY_SIZE(test_gpu_chunk_sizes)), 0);
	mmput(mm);	/* the process exits; the instance keeps mm_count */

	range = drm_gpusvm_range_find_or_insert(&gpusvm, SZ_1G, 0, TASK_SIZE,
						&gpu->ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR(range), -EFAULT);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	drm_gpusvm_fini(&gpusvm);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_get_pages_bad_span(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct drm_gpusvm_ctx ctx = {};
	struct test_userptr *up;

	up = test_userptr_create(test, gpu, addr, SZ_64K);

	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr + 1, addr + SZ_4K, &ctx),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr + SZ_4K, addr, &ctx),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_get_pages(&up->gpusvm, &up->pages,
						   current->mm, &up->notifier,
						   addr, addr + SZ_128K, &ctx),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, up->pages.dma_addr);
	/* npages == 0 is a no-op. */
	drm_gpusvm_unmap_pages(&up->gpusvm, &up->pages, 0, &ctx);
	drm_gpusvm_free_pages(&up->gpusvm, &up->pages, 0);

	mmu_interval_notifier_remove(&up->notifier);
	drm_gpusvm_fini(&up->gpusvm);
	test_gpu_expect_clean(gpu);
}

/* --- Allocation failures ------------------------------------------------- */

static void gpusvm_range_alloc_failure(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);

	test_fill_user(test, addr, SZ_64K, 30);
	gpu->fail_range_alloc = true;
	KUNIT_EXPECT_EQ(test, test_gpu_fault(gpu, addr, false), -ENOMEM);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_has_mapping(gpu, addr, addr + SZ_64K));
	test_expect_data(test, gpu, addr, SZ_64K, 30);
	test_gpu_expect_clean(gpu);
}

static void gpusvm_notifier_alloc_failure(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);

	test_fill_user(test, addr, SZ_64K, 31);
	test_gpu_fail_notifier_alloc = true;
	KUNIT_EXPECT_EQ(test, test_gpu_fault(gpu, addr, false), -ENOMEM);
	KUNIT_EXPECT_FALSE(test, test_gpu_has_notifier(gpu, addr, addr + SZ_64K));
	test_expect_data(test, gpu, addr, SZ_64K, 31);
	test_gpu_expect_clean(gpu);
}

/*
 * Fail the helpers' own allocations of a GPU fault one at a time, through
 * test_fail_nth: each failure gives -ENOMEM (or, for the page check
 * of chunk selection, a smaller chunk), leaves nothing mapped, and the next
 * fault succeeds with the data intact.
 */
static void gpusvm_fault_survives_each_failed_allocation(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	unsigned long addr = test_mmap_aligned(test, SZ_2M, PROT_READ | PROT_WRITE);
	unsigned int nth, failed = 0;
	int err;

	test_fail_nth_init(test);

	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, SZ_2M,
					 MADV_NOHUGEPAGE), 0);
	test_fill_user(test, addr, SZ_64K, 40);
	/* A 64K window whose pages are checked before the chunk is taken. */
	gpu->ctx.check_pages_threshold = SZ_64K;
	gpu->gpuva_start = addr;
	gpu->gpuva_end = addr + SZ_64K;

	for (nth = 1; nth < 64; nth++) {
		test_fail_nth = nth;
		err = test_gpu_fault(gpu, addr, false);
		if (test_fail_nth) {
			/* Fewer than @nth allocations: nothing failed. */
			test_fail_nth = 0;
			KUNIT_EXPECT_EQ(test, err, 0);
			break;
		}
		failed++;
		KUNIT_EXPECT_TRUE_MSG(test, !err || err == -ENOMEM,
				      "allocation %u failed with %d", nth, err);
		if (err) {
			KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpu, addr));
			KUNIT_EXPECT_EQ(test, test_gpu_dma_entries(gpu), 0);
		}

		/* The next fault works and the GPU sees the CPU's data. */
		test_expect_data(test, gpu, addr, SZ_64K, 40);

		/* Start over without ranges: the next round takes the same path. */
		test_gpu_remove_all_ranges(gpu);
	}
	/* The check's array, the two of get_pages, 16 DMA maps. */
	KUNIT_EXPECT_GE(test, failed, 19);
	KUNIT_EXPECT_LT(test, nth, 64);
	test_gpu_expect_clean(gpu);
}

/* --- Races --------------------------------------------------------------- */

#define RACE_ITERATIONS		200
#define RACE_MIN_READS		50

struct race {
	struct test_gpu *gpu;
	unsigned long addr;
	atomic_t generation;	/* last value the CPU finished writing */
	bool stop;
	unsigned long verified;
	unsigned long bad;
	int err;
};

/*
 * The GPU side: read the whole page and check every word. The CPU writes
 * generation g to every word of the page, then publishes g. A word may hold
 * the last published generation or the one being written (the GPU and the
 * CPU share the page, so a read during a write is torn), or zero while a
 * remapped page is being filled; anything older than what was published
 * before the read is stale data the GPU must never see.
 */
static int race_gpu_reader(void *data)
{
	struct race *race = data;
	u64 *buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	int before, after, i, err;

	if (!buf)
		return -ENOMEM;

	while (!READ_ONCE(race->stop)) {
		before = atomic_read(&race->generation);
		err = test_gpu_read(race->gpu, race->addr, buf, PAGE_SIZE);
		after = atomic_read(&race->generation);
		if (err == -ENOENT || err == -EFAULT || err == -EAGAIN) {
			cond_resched();
			continue;	/* caught between munmap and mmap */
		}
		if (err) {
			race->err = err;
			break;
		}
		for (i = 0; i < PAGE_SIZE / sizeof(u64); i++)
			if (buf[i] && (buf[i] < before || buf[i] > after + 1))
				break;
		if (i < PAGE_SIZE / sizeof(u64))
			race->bad++;
		else if (memchr_inv(buf, 0, PAGE_SIZE))
			race->verified++;	/* held CPU data, all current */
		cond_resched();
	}
	kfree(buf);
	test_kthread_finish(NULL, NULL);
	return 0;
}

static void race_cpu_write(struct kunit *test, struct race *race, u64 gen)
{
	u64 *buf = kmalloc_array(PAGE_SIZE / sizeof(u64), sizeof(u64),
				 GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < PAGE_SIZE / sizeof(u64); i++)
		buf[i] = gen;
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)race->addr, buf,
					   PAGE_SIZE), 0);
	kfree(buf);
	atomic_set(&race->generation, gen);
}

static void gpusvm_race_fault_vs_unmap(struct kunit *test)
{
	struct test_gpu *gpu = test_gpu_create_default(test);
	struct task_struct *reader;
	struct race *race;
	unsigned long addr;
	int i, reads_before;

	race = kunit_kzalloc(test, sizeof(*race), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, race);
	addr = test_mmap(test, SZ_64K, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	race->gpu = gpu;
	race->addr = addr;
	race_cpu_write(test, race, 1);

	reader = kthread_run(race_gpu_reader, race, "gpusvm-race-reader");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, reader);

	for (i = 2; i < RACE_ITERATIONS; i++) {
		reads_before = race->verified;
		switch (i % 3) {
		case 0:
			/* Unmap and map again: a new, empty page. */
			vm_munmap(addr, SZ_64K);
			KUNIT_EXPECT_EQ(test, vm_mmap(NULL, addr, SZ_64K,
						      PROT_READ | PROT_WRITE,
						      MAP_PRIVATE | MAP_ANONYMOUS |
						      MAP_FIXED, 0), addr);
			break;
		case 1:
			KUNIT_EXPECT_EQ(test, do_madvise(current->mm, addr,
							 SZ_64K, MADV_DONTNEED),
					0);
			break;
		default:
			break;
		}
		race_cpu_write(test, race, i);
		/* Give the GPU side a chance to see this generation. */
		for (int wait = 0; wait < 100 && READ_ONCE(race->verified) == reads_before; wait++)
			usleep_range(100, 200);
	}

	WRITE_ONCE(race->stop, true);
	kthread_stop(reader);
	vm_munmap(addr, SZ_64K);

	KUNIT_EXPECT_EQ(test, race->err, 0);
	KUNIT_EXPECT_EQ(test, race->bad, 0);
	KUNIT_EXPECT_GE(test, race->verified, RACE_MIN_READS);
	kunit_info(test, "%lu verified GPU reads over %d CPU changes\n",
		   race->verified, RACE_ITERATIONS);
	test_gpu_expect_clean(gpu);
}

static struct kunit_case drm_gpusvm_pages_cases[] = {
	KUNIT_CASE(gpusvm_anon_untouched_reads_zero),
	KUNIT_CASE(gpusvm_anon_zero_page_read_only),
	KUNIT_CASE(gpusvm_read_only_mapping_kept_for_write),
	KUNIT_CASE(gpusvm_anon_reads_cpu_writes),
	KUNIT_CASE(gpusvm_anon_gpu_write_seen_by_cpu),
	KUNIT_CASE(gpusvm_read_only_vma_read_works),
	KUNIT_CASE(gpusvm_read_only_vma_write_eperm),
	KUNIT_CASE(gpusvm_prot_none_eperm),
	KUNIT_CASE(gpusvm_pfnmap_eopnotsupp),
	KUNIT_CASE(gpusvm_shmem_shared),
	KUNIT_CASE(gpusvm_shmem_private),
	KUNIT_CASE(gpusvm_thp_maps_one_2m_entry),
	KUNIT_CASE(gpusvm_thp_small_range_maps_own_pages),
	KUNIT_CASE(gpusvm_thp_misaligned_range_maps_own_pages),
	KUNIT_CASE(gpusvm_userptr_pages_only_instance),
	KUNIT_CASE(gpusvm_userptr_thp_unaligned_start),
	{}
};

static struct kunit_suite drm_gpusvm_pages_suite = {
	.name = "drm_gpusvm_pages",
	.test_cases = drm_gpusvm_pages_cases,
};

static struct kunit_case drm_gpusvm_range_cases[] = {
	KUNIT_CASE(gpusvm_chunk_2m_when_vma_allows),
	KUNIT_CASE(gpusvm_chunk_shrinks_to_vma_end),
	KUNIT_CASE(gpusvm_chunk_shrinks_to_vma_start),
	KUNIT_CASE(gpusvm_chunk_shrinks_for_neighbour_range),
	KUNIT_CASE(gpusvm_chunk_shrinks_to_gpuva_window),
	KUNIT_CASE(gpusvm_chunk_shrinks_to_mirrored_window),
	KUNIT_CASE(gpusvm_chunk_shrinks_to_notifier_window),
	KUNIT_CASE(gpusvm_chunk_check_pages_threshold),
	KUNIT_CASE(gpusvm_bad_fault_addresses),
	KUNIT_CASE(gpusvm_no_vma_enoent),
	KUNIT_CASE(gpusvm_find_vma_start),
	KUNIT_CASE(gpusvm_exited_mm_efault),
	KUNIT_CASE(gpusvm_get_pages_bad_span),
	KUNIT_CASE(gpusvm_range_alloc_failure),
	KUNIT_CASE(gpusvm_notifier_alloc_failure),
	KUNIT_CASE(gpusvm_fault_survives_each_failed_allocation),
	{}
};

static struct kunit_suite drm_gpusvm_range_suite = {
	.name = "drm_gpusvm_range",
	.test_cases = drm_gpusvm_range_cases,
};

static struct kunit_case drm_gpusvm_invalidate_cases[] = {
	KUNIT_CASE(gpusvm_munmap_whole_range),
	KUNIT_CASE(gpusvm_munmap_part_sets_partial_unmap),
	KUNIT_CASE(gpusvm_madvise_dontneed_refaults_fresh),
	KUNIT_CASE(gpusvm_madvise_dontneed_part_of_range),
	KUNIT_CASE(gpusvm_gc_empties_notifiers),
	KUNIT_CASE(gpusvm_remap_gives_new_data),
	KUNIT_CASE(gpusvm_fini_with_live_ranges),
	KUNIT_CASE(gpusvm_range_ref_outlives_removal),
	KUNIT_CASE_SLOW(gpusvm_race_fault_vs_unmap),
	{}
};

static struct kunit_suite drm_gpusvm_invalidate_suite = {
	.name = "drm_gpusvm_invalidate",
	.test_cases = drm_gpusvm_invalidate_cases,
};

kunit_test_suites(&drm_gpusvm_init_suite, &drm_gpusvm_pages_suite,
		  &drm_gpusvm_range_suite, &drm_gpusvm_invalidate_suite);

MODULE_DESCRIPTION("KUnit tests of the GPU SVM helpers");
MODULE_LICENSE("GPL");
