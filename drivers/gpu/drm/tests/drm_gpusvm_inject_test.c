// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests that fail every site of every GPU SVM path in turn: the
 * helpers' own allocations, DMA and device maps and notifier insertions
 * (through test_fail_nth, with CONFIG_DRM_GPUSVM_FAULT_INJECTION) and every
 * driver callback (through the test GPU's and test VRAM's
 * test_op_fail()). A clean run of a path counts its sites; then each site
 * fails once, and each failure must give the documented error, leave a state
 * from which the same path succeeds with the data intact, and leak nothing.
 */

#include <kunit/test.h>

#include <linux/debugfs.h>
#include <linux/dma-direct.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include <drm/drm_device.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

#include "drm_gpusvm_test_gpu.h"
#include "drm_gpusvm_test_vram.h"

/* The span every path works on: 16 pages of anonymous memory. */
#define INJECT_SIZE	SZ_64K

/* Library sites are counted by letting test_fail_nth run down from this. */
#define INJECT_COUNT	BIT(30)

/* The error driver callbacks that return one fail with. */
#define INJECT_OP_ERR	(-EIO)

struct inject_test {
	struct test_gpu *gpu;
	struct test_vram *vram;
	struct mm_struct *mm;
	unsigned long addr;
	/* The allocation the evict path evicts. */
	struct test_vram_alloc *alloc;
	/* The userptr of the userptr path. */
	struct test_userptr *up;
	u8 seed;
	/* DMA-API debug entries in use before the case, or -1. */
	long dma_entries;
};

/**
 * struct inject_path - One path of the helpers, as a driver drives it
 * @name: Name in the results.
 * @prepare: Bring the span to the state the path starts from.
 * @run: The path; returns its error.
 * @lib_err: The error of the path when a site of the helpers fails.
 * @lib_err_first: The error when its first site fails, if another one.
 * @lib_may_succeed: A failed site of the helpers may degrade, not fail.
 * @op_err: The error of the path when driver callback @op fails with @err
 *	(1: the path must succeed anyway).
 * @expect_done: Check the state after the path succeeded.
 * @expect_undone: Check the state after the path failed.
 * @cleanup: Back to system memory, no range.
 */
struct inject_path {
	const char *name;
	void (*prepare)(struct kunit *test, struct inject_test *t);
	int (*run)(struct kunit *test, struct inject_test *t);
	int lib_err;
	int lib_err_first;
	bool lib_may_succeed;
	int (*op_err)(enum test_op op, int err);
	void (*expect_done)(struct kunit *test, struct inject_test *t);
	void (*expect_undone)(struct kunit *test, struct inject_test *t);
	void (*cleanup)(struct kunit *test, struct inject_test *t);
};

static unsigned long device_pages(struct inject_test *t)
{
	unsigned long n = 0, a;

	for (a = t->addr; a < t->addr + INJECT_SIZE; a += PAGE_SIZE)
		n += test_vram_is_device_page(t->vram, t->mm, a);
	return n;
}

/* A u32 counter of DMA-API debug, read from its debugfs file's inode. */
static long dma_debug_counter(struct dentry *dir, const char *name)
{
	struct dentry *file = debugfs_lookup(name, dir);
	long val = -1;

	if (!IS_ERR_OR_NULL(file)) {
		val = *(u32 *)d_inode(file)->i_private;
		dput(file);
	}
	return val;
}

/*
 * The DMA mappings of every device, as DMA-API debug counts them (-1 without
 * it): nothing else maps for DMA in the test guest, so the mappings the
 * helpers leak show up here.
 */
static long dma_debug_entries(void)
{
	long total, free;
	struct dentry *dir;

	if (!IS_ENABLED(CONFIG_DMA_API_DEBUG))
		return -1;
	dir = debugfs_lookup("dma-api", NULL);
	if (IS_ERR_OR_NULL(dir))
		return -1;
	total = dma_debug_counter(dir, "nr_total_entries");
	free = dma_debug_counter(dir, "num_free_entries");
	dput(dir);
	return total < 0 || free < 0 ? -1 : total - free;
}

/* --- Common steps --------------------------------------------------------- */

static void fill(struct kunit *test, struct inject_test *t)
{
	test_fill_user(test, t->addr, INJECT_SIZE, ++t->seed);
}

static void fill_and_migrate(struct kunit *test, struct inject_test *t)
{
	fill(test, t);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(t->vram, t->mm, t->addr,
						t->addr + INJECT_SIZE, 0,
						&t->alloc), 0);
	KUNIT_ASSERT_EQ(test, device_pages(t), INJECT_SIZE >> PAGE_SHIFT);
}

/* No range, every page back in system memory, the data intact. */
static void cleanup_all(struct kunit *test, struct inject_test *t)
{
	test_gpu_remove_all_ranges(t->gpu);
	test_expect_data(test, NULL, t->addr, INJECT_SIZE, t->seed);
	KUNIT_EXPECT_EQ(test, device_pages(t), 0);
}

/* Nothing the helpers or the driver allocated is left. */
static void expect_nothing_leaked(struct kunit *test, struct inject_test *t)
{
	KUNIT_EXPECT_EQ(test, atomic_read(&t->gpu->ranges), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->gpu->leaked_dma), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&test_gpu_notifiers), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_maps), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->pages_in_use), 0);
	/* Only the driver's reference: no record, no mapping holds one. */
	KUNIT_EXPECT_EQ(test, kref_read(&t->vram->dpagemap.ref), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_users), t->gpu->mm_users);
	/* No DMA mapping of a system page either. */
	KUNIT_EXPECT_EQ(test, dma_debug_entries(), t->dma_entries);
}

static int op_fails_path(enum test_op op, int err)
{
	return err;
}

static int op_enomem(enum test_op op, int err)
{
	return -ENOMEM;
}

/* --- GPU fault on system memory ------------------------------------------- */

static int run_fault(struct kunit *test, struct inject_test *t)
{
	return test_gpu_fault(t->gpu, t->addr, false);
}

static void expect_fault_done(struct kunit *test, struct inject_test *t)
{
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(t->gpu, t->addr));
	test_expect_data(test, t->gpu, t->addr, INJECT_SIZE, t->seed);
}

static void expect_fault_undone(struct kunit *test, struct inject_test *t)
{
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(t->gpu, t->addr));
	KUNIT_EXPECT_EQ(test, test_gpu_dma_entries(t->gpu), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->device_maps), 0);
}

/* The page check of chunk selection degrades to a smaller range. */
static const struct inject_path path_fault_system = {
	.name = "fault_system",
	.prepare = fill,
	.run = run_fault,
	.lib_err = -ENOMEM,
	.lib_may_succeed = true,
	.op_err = op_enomem,
	.expect_done = expect_fault_done,
	.expect_undone = expect_fault_undone,
	.cleanup = cleanup_all,
};

/* --- GPU fault on device memory ------------------------------------------- */

static void expect_fault_devmem_done(struct kunit *test, struct inject_test *t)
{
	struct drm_gpusvm_range *range = test_gpu_range_at(t->gpu, t->addr);

	expect_fault_done(test, t);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_TRUE(test, range->pages.flags.has_devmem_pages);
	KUNIT_EXPECT_EQ(test, device_pages(t), INJECT_SIZE >> PAGE_SHIFT);
}

static void expect_fault_devmem_undone(struct kunit *test,
				       struct inject_test *t)
{
	expect_fault_undone(test, t);
	KUNIT_EXPECT_EQ(test, device_pages(t), INJECT_SIZE >> PAGE_SHIFT);
}

/* The device pages are mapped in place: every device_map() may fail. */
static const struct inject_path path_fault_devmem = {
	.name = "fault_devmem",
	.prepare = fill_and_migrate,
	.run = run_fault,
	.lib_err = -ENOMEM,
	.lib_may_succeed = true,
	.op_err = op_enomem,
	.expect_done = expect_fault_devmem_done,
	.expect_undone = expect_fault_devmem_undone,
	.cleanup = cleanup_all,
};

/* --- GPU fault that migrates first ---------------------------------------- */

static int inject_migrate_policy(struct test_gpu *gpu,
				 struct drm_gpusvm_range *range)
{
	struct inject_test *t = gpu->migrate_data;

	return drm_pagemap_populate_mm(&t->vram->dpagemap,
				       drm_gpusvm_range_start(range),
				       drm_gpusvm_range_end(range), t->mm, 0);
}

static void prepare_fault_migrate(struct kunit *test, struct inject_test *t)
{
	fill(test, t);
	t->gpu->migrate = inject_migrate_policy;
}

static void cleanup_fault_migrate(struct kunit *test, struct inject_test *t)
{
	t->gpu->migrate = NULL;
	cleanup_all(test, t);
}

/* Placement is advice: a failed migration leaves a working fault. */
static int op_fault_migrate(enum test_op op, int err)
{
	switch (op) {
	case TEST_OP_POPULATE_MM:
	case TEST_OP_POPULATE_DEVMEM_PFN:
	case TEST_OP_COPY_TO_DEVMEM:
		return 0;
	default:
		return -ENOMEM;
	}
}

static const struct inject_path path_fault_migrate = {
	.name = "fault_migrate",
	.prepare = prepare_fault_migrate,
	.run = run_fault,
	.lib_err = -ENOMEM,
	.lib_may_succeed = true,
	.op_err = op_fault_migrate,
	.expect_done = expect_fault_done,
	.expect_undone = expect_fault_undone,
	.cleanup = cleanup_fault_migrate,
};

/* --- Migration to device memory ------------------------------------------- */

static int run_migrate(struct kunit *test, struct inject_test *t)
{
	return drm_pagemap_populate_mm(&t->vram->dpagemap, t->addr,
				       t->addr + INJECT_SIZE, t->mm, 0);
}

static void expect_migrate_done(struct kunit *test, struct inject_test *t)
{
	KUNIT_EXPECT_EQ(test, device_pages(t), INJECT_SIZE >> PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 1);
	/* The GPU reads the device pages in place. */
	test_expect_data(test, t->gpu, t->addr, INJECT_SIZE, t->seed);
}

static void expect_migrate_undone(struct kunit *test, struct inject_test *t)
{
	KUNIT_EXPECT_EQ(test, device_pages(t), 0);
	/* The failed allocation was released on the error path. */
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->pages_in_use), 0);
	test_expect_data(test, NULL, t->addr, INJECT_SIZE, t->seed);
}

static const struct inject_path path_migrate = {
	.name = "migrate",
	.prepare = fill,
	.run = run_migrate,
	.lib_err = -ENOMEM,
	.op_err = op_fails_path,
	.expect_done = expect_migrate_done,
	.expect_undone = expect_migrate_undone,
	.cleanup = cleanup_all,
};

/* --- CPU fault on device memory ------------------------------------------- */

/* A real CPU access from the case's kthread, in its mm: migrate_to_ram. */
static int run_cpu_fault(struct kunit *test, struct inject_test *t)
{
	u8 byte;

	if (copy_from_user(&byte, (void __user *)t->addr + SZ_32K, 1))
		return -EFAULT;
	return 0;
}

static void expect_in_ram(struct kunit *test, struct inject_test *t)
{
	KUNIT_EXPECT_EQ(test, device_pages(t), 0);
	/* The last device page released the allocation. */
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 0);
	test_expect_data(test, NULL, t->addr, INJECT_SIZE, t->seed);
}

static void expect_in_vram(struct kunit *test, struct inject_test *t)
{
	KUNIT_EXPECT_EQ(test, device_pages(t), INJECT_SIZE >> PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->vram->allocations), 1);
	test_expect_data(test, t->gpu, t->addr, INJECT_SIZE, t->seed);
}

/* The fault gives VM_FAULT_OOM or VM_FAULT_SIGBUS: the access fails. */
static int op_efault(enum test_op op, int err)
{
	return -EFAULT;
}

static const struct inject_path path_cpu_fault = {
	.name = "cpu_fault",
	.prepare = fill_and_migrate,
	.run = run_cpu_fault,
	.lib_err = -EFAULT,
	.op_err = op_efault,
	.expect_done = expect_in_ram,
	.expect_undone = expect_in_vram,
	.cleanup = cleanup_all,
};

/* --- Eviction of an allocation -------------------------------------------- */

static int run_evict(struct kunit *test, struct inject_test *t)
{
	return drm_pagemap_evict_to_ram(&t->alloc->devmem);
}

static const struct inject_path path_evict = {
	.name = "evict",
	.prepare = fill_and_migrate,
	.run = run_evict,
	.lib_err = -ENOMEM,
	.op_err = op_fails_path,
	.expect_done = expect_in_ram,
	.expect_undone = expect_in_vram,
	.cleanup = cleanup_all,
};

/* --- Eviction of a range --------------------------------------------------- */

static void prepare_range_evict(struct kunit *test, struct inject_test *t)
{
	fill_and_migrate(test, t);
	KUNIT_ASSERT_EQ(test, test_gpu_fault(t->gpu, t->addr, false), 0);
}

static int run_range_evict(struct kunit *test, struct inject_test *t)
{
	struct drm_gpusvm_range *range = test_gpu_range_at(t->gpu, t->addr);

	KUNIT_ASSERT_NOT_NULL(test, range);
	return test_gpu_range_evict(t->gpu, range);
}

/*
 * Its own pfn array fails with -ENOMEM; a failure of the CPU fault path
 * inside hmm_range_fault() is a page that could not move: -EFAULT.
 */
static const struct inject_path path_range_evict = {
	.name = "range_evict",
	.prepare = prepare_range_evict,
	.run = run_range_evict,
	.lib_err = -EFAULT,
	.lib_err_first = -ENOMEM,
	.op_err = op_efault,
	.expect_done = expect_in_ram,
	.expect_undone = expect_in_vram,
	.cleanup = cleanup_all,
};

/* --- Userptr: pages without ranges ----------------------------------------- */

static void prepare_userptr(struct kunit *test, struct inject_test *t)
{
	fill(test, t);
	if (!t->up)
		t->up = test_userptr_create(test, t->gpu, t->addr, INJECT_SIZE);
}

static int run_userptr(struct kunit *test, struct inject_test *t)
{
	struct drm_gpusvm_ctx ctx = {};

	return drm_gpusvm_get_pages(&t->up->gpusvm, &t->up->pages, t->mm,
				    &t->up->notifier, t->addr,
				    t->addr + INJECT_SIZE, &ctx);
}

/* Read the span through the DMA addresses, as the device would. */
static void expect_userptr_done(struct kunit *test, struct inject_test *t)
{
	struct drm_gpusvm_pages *pages = &t->up->pages;
	struct drm_pagemap_addr *addr = pages->dma_addr;
	unsigned long i, j, n = INJECT_SIZE >> PAGE_SHIFT, bad = 0;
	u8 *vaddr;

	KUNIT_ASSERT_TRUE(test, pages->flags.has_dma_mapping);
	for (i = 0; i < n; addr++) {
		for (j = 0; j < 1UL << addr->order; j++, i++) {
			phys_addr_t phys = dma_to_phys(t->gpu->drm->dev,
						       addr->addr);
			unsigned long off;

			vaddr = kmap_local_page(pfn_to_page(PHYS_PFN(phys) + j));
			for (off = 0; off < PAGE_SIZE; off++)
				bad += vaddr[off] !=
				       test_pattern(t->seed, i * PAGE_SIZE + off);
			kunmap_local(vaddr);
		}
	}
	KUNIT_EXPECT_EQ(test, bad, 0);
}

static void expect_userptr_undone(struct kunit *test, struct inject_test *t)
{
	KUNIT_EXPECT_FALSE(test, t->up->pages.flags.has_dma_mapping);
}

static void cleanup_userptr(struct kunit *test, struct inject_test *t)
{
	drm_gpusvm_free_pages(&t->up->gpusvm, &t->up->pages, t->up->npages);
	KUNIT_EXPECT_NULL(test, t->up->pages.dma_addr);
	KUNIT_EXPECT_FALSE(test, t->up->pages.flags.has_dma_mapping);
}

static const struct inject_path path_userptr = {
	.name = "userptr",
	.prepare = prepare_userptr,
	.run = run_userptr,
	.lib_err = -ENOMEM,
	.op_err = op_enomem,
	.expect_done = expect_userptr_done,
	.expect_undone = expect_userptr_undone,
	.cleanup = cleanup_userptr,
};

/* --- The walker ------------------------------------------------------------ */

static const struct inject_path *const inject_paths[] = {
	&path_fault_system,
	&path_fault_devmem,
	&path_fault_migrate,
	&path_migrate,
	&path_cpu_fault,
	&path_evict,
	&path_range_evict,
	&path_userptr,
};

static void inject_path_desc(const struct inject_path *const *path,
			     char *desc)
{
	strscpy(desc, (*path)->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(inject_path, inject_paths, inject_path_desc);

/*
 * After one injection: the error the path gave, the state it left, then the
 * same path again without injection (it must succeed, data intact), and
 * nothing leaked once cleaned up.
 */
static void inject_check(struct kunit *test, struct inject_test *t,
			 const struct inject_path *p, const char *site,
			 unsigned int k, int err, int want, bool may_succeed)
{
	KUNIT_EXPECT_TRUE_MSG(test, err == want || (may_succeed && !err),
			      "%s: failing %s #%u gave %d, expected %d",
			      p->name, site, k, err, want);
	if (err) {
		p->expect_undone(test, t);
		KUNIT_EXPECT_EQ_MSG(test, p->run(test, t), 0,
				    "%s: again after %s #%u", p->name, site, k);
	}
	p->expect_done(test, t);
	p->cleanup(test, t);
	expect_nothing_leaked(test, t);
}

static void inject_every_site(struct kunit *test)
{
	const struct inject_path *p =
		*(const struct inject_path *const *)test->param_value;
	struct inject_test *t = test->priv;
	unsigned int lib_sites, op_sites[TEST_OP_COUNT];
	unsigned int k, total_ops = 0, injections = 0;
	ktime_t start = ktime_get();
	enum test_op op;
	int err;

	/* A clean run counts the sites. */
	p->prepare(test, t);
	test_op_reset();
	test_fail_nth = INJECT_COUNT;
	err = p->run(test, t);
	lib_sites = INJECT_COUNT - test_fail_nth;
	test_fail_nth = 0;
	KUNIT_ASSERT_EQ(test, err, 0);
	for (op = 0; op < TEST_OP_COUNT; op++) {
		op_sites[op] = test_op_calls(op);
		total_ops += op_sites[op];
	}
	p->expect_done(test, t);
	p->cleanup(test, t);
	expect_nothing_leaked(test, t);
	KUNIT_ASSERT_GT(test, lib_sites, 0);

	/* Each site of the helpers. */
	for (k = 1; k <= lib_sites; k++) {
		p->prepare(test, t);
		test_fail_nth = k;
		err = p->run(test, t);
		KUNIT_EXPECT_EQ_MSG(test, test_fail_nth, 0,
				    "%s: site %u not reached", p->name, k);
		test_fail_nth = 0;
		inject_check(test, t, p, "helper site", k, err,
			     k == 1 && p->lib_err_first ? p->lib_err_first :
							  p->lib_err,
			     p->lib_may_succeed);
		injections++;
	}

	/* Each call of each driver callback. */
	for (op = 0; op < TEST_OP_COUNT; op++) {
		for (k = 1; k <= op_sites[op]; k++) {
			int want = p->op_err(op, INJECT_OP_ERR);

			p->prepare(test, t);
			test_op_fail(op, k, INJECT_OP_ERR);
			err = p->run(test, t);
			KUNIT_EXPECT_FALSE_MSG(test, test_op_pending(),
					       "%s: %s #%u not reached",
					       p->name, test_op_names[op], k);
			test_op_reset();
			inject_check(test, t, p, test_op_names[op], k, err,
				     want, !want);
			injections++;
		}
	}

	kunit_info(test, "gpusvm-inject: path %s: %u helper sites, %u callback sites, %u injections in %lld ms\n",
		   p->name, lib_sites, total_ops, injections,
		   ktime_ms_delta(ktime_get(), start));
	for (op = 0; op < TEST_OP_COUNT; op++)
		if (op_sites[op])
			kunit_info(test, "gpusvm-inject: path %s: %s %u\n",
				   p->name, test_op_names[op], op_sites[op]);

	if (t->up) {
		mmu_interval_notifier_remove(&t->up->notifier);
		drm_gpusvm_free_pages(&t->up->gpusvm, &t->up->pages,
				      t->up->npages);
		drm_gpusvm_fini(&t->up->gpusvm);
	}
	test_gpu_expect_clean(t->gpu);
	test_vram_expect_clean(t->vram);
}

static int inject_test_init(struct kunit *test)
{
	struct inject_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	test_fail_nth_init(test);

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
	t->gpu->ctx.allow_mixed = true;
	/* Pages are checked before a 64K range is made: one more site. */
	t->gpu->ctx.check_pages_threshold = SZ_64K;
	t->gpu->gpuva_start = t->addr;
	t->gpu->gpuva_end = t->addr + INJECT_SIZE;
	t->gpu->migrate_data = t;
	t->dma_entries = dma_debug_entries();
	test_op_reset();
	test->priv = t;
	return 0;
}

/* A case that stopped half way must not fail callbacks of the next one. */
static void inject_test_exit(struct kunit *test)
{
	test_op_reset();
}

static struct kunit_case drm_gpusvm_inject_cases[] = {
	KUNIT_CASE_PARAM(inject_every_site, inject_path_gen_params),
	{}
};

static struct kunit_suite drm_gpusvm_inject_suite = {
	.name = "drm_gpusvm_inject",
	.init = inject_test_init,
	.exit = inject_test_exit,
	.test_cases = drm_gpusvm_inject_cases,
};

kunit_test_suite(drm_gpusvm_inject_suite);

MODULE_DESCRIPTION("Fault injection tests of the DRM GPU SVM helpers");
MODULE_LICENSE("GPL");
