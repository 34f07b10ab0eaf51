// SPDX-License-Identifier: GPL-2.0-only
/*
 * A benchmark of the GPU SVM helpers: what they cost over the mm primitives
 * they wrap, each measured in the same boot, right next to a bare loop doing
 * the same mm work (its floor).
 *
 * Every measurement runs one warm-up round and BENCH_REPS timed rounds; the
 * rounds of a library figure and of its floors are interleaved, so that a
 * change of load hits both. Each is printed as one KTAP diagnostic line
 * holding one JSON object,
 *
 *	# bench: {"row": "fault_4k", "what": "library", "kind": "library", ...}
 *
 * which harness/bench-report.py turns into the report. The rows that map
 * pages for DMA run twice: on a dma-direct test device, and on QEMU's edu
 * PCI device (the reference driver's) behind the guest's IOMMU when there
 * is one ("dev": "iommu"), their floors mapping through the same device.
 *
 * The suite is not named drm_gpusvm* so that the test runs never pick it
 * up: it asserts nothing beyond the helpers' success and takes a while
 * under emulation.
 */

#include <kunit/resource.h>
#include <kunit/test.h>

#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/interval_tree.h>
#include <linux/ioport.h>
#include <linux/iommu.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

#include "drm_gpusvm_test_gpu.h"
#include "drm_gpusvm_test_vram.h"

/* Timed rounds of each measurement, after one warm-up round. */
#define BENCH_REPS		11
#define BENCH_MEASURES_MAX	5

/* Span of the fault rows: a few 2M ranges, a few thousand 4K ones. */
#define BENCH_FAULT_SPAN	SZ_8M
/* Span of the re-fault row: 512 ranges of 4K. */
#define BENCH_REFAULT_SPAN	SZ_2M
/* Lookups per round of the lookup rows. */
#define BENCH_LOOKUPS		1024
/* Largest span of the migration rows, and the size of their test VRAM. */
#define BENCH_MIGRATE_MAX	SZ_64M

/* QEMU's edu PCI device, which the reference driver binds. */
#define BENCH_EDU_VENDOR	0x1234
#define BENCH_EDU_DEVICE	0x11e8

/**
 * struct bench_measure - One figure: the library's or one of its floors
 * @what: What is timed.
 * @floor: Whether this is a floor (bare mm primitives) or the library.
 * @round: Runs one round and returns its time in ns; errors go to @data.
 * @ns: Time of each timed round.
 */
struct bench_measure {
	const char *what;
	bool floor;
	u64 (*round)(void *data);
	u64 ns[BENCH_REPS];
};

/**
 * struct bench_row - One row of the report: the library beside its floors
 * @name: Row name.
 * @unit: What one unit of @n is ("range", "lookup").
 * @n: Units per round.
 * @pages: 4K pages per unit, 0 if it does not apply.
 * @iommu: The pages are DMA-mapped for the device behind the IOMMU, not for
 *	a dma-direct one.
 * @measures: The figures.
 * @num_measures: Number of @measures.
 */
struct bench_row {
	char name[32];
	const char *unit;
	unsigned long n;
	unsigned long pages;
	bool iommu;
	struct bench_measure measures[BENCH_MEASURES_MAX];
	int num_measures;
};

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* ns per unit with one decimal, as a JSON number. */
static void bench_per_unit(char *buf, size_t len, u64 ns, unsigned long n)
{
	u64 tenths = div64_u64(ns * 10, n);

	snprintf(buf, len, "%llu.%llu", div_u64(tenths, 10),
		 tenths - div_u64(tenths, 10) * 10);
}

static void bench_print(struct kunit *test, const struct bench_row *row,
			const struct bench_measure *m)
{
	u64 min = m->ns[0], median = m->ns[BENCH_REPS / 2];
	char min_s[24], median_s[24];

	bench_per_unit(min_s, sizeof(min_s), min, row->n);
	bench_per_unit(median_s, sizeof(median_s), median, row->n);
	kunit_log(KERN_INFO, test, KUNIT_SUBTEST_INDENT
		  "# bench: {\"row\": \"%s\", \"dev\": \"%s\", \"what\": \"%s\", \"kind\": \"%s\", \"n\": %lu, \"pages\": %lu, \"reps\": %d, \"ns_min\": %s, \"ns_median\": %s, \"round_ns_min\": %llu, \"round_ns_median\": %llu, \"unit\": \"ns/%s\"}\n",
		  row->name, row->iommu ? "iommu" : "direct", m->what,
		  m->floor ? "floor" : "library", row->n,
		  row->pages, BENCH_REPS, min_s, median_s, min, median,
		  row->unit);
}

/*
 * Run every measure of @row round by round, interleaved, one warm-up round
 * first, and print them. @err points at the error the rounds record; nothing
 * is printed once it is set.
 */
static void bench_run(struct kunit *test, struct bench_row *row, void *data,
		      const int *err)
{
	struct bench_measure *m;
	u64 ns;
	int rep, i;

	for (rep = -1; rep < BENCH_REPS && !*err; rep++) {
		for (i = 0; i < row->num_measures && !*err; i++) {
			m = &row->measures[i];
			ns = m->round(data);
			if (rep >= 0)
				m->ns[rep] = ns;
			cond_resched();
		}
	}
	KUNIT_ASSERT_EQ_MSG(test, *err, 0, "row %s failed", row->name);

	for (i = 0; i < row->num_measures; i++) {
		m = &row->measures[i];
		sort(m->ns, BENCH_REPS, sizeof(m->ns[0]), bench_cmp_u64, NULL);
		bench_print(test, row, m);
	}
}

static void bench_add(struct bench_row *row, const char *what, bool floor,
		      u64 (*round)(void *data))
{
	struct bench_measure *m = &row->measures[row->num_measures++];

	m->what = what;
	m->floor = floor;
	m->round = round;
}

/* The instance keeps a pointer to its range sizes. */
static const unsigned long bench_chunks_4k[] = { SZ_4K };
static const unsigned long bench_chunks_64k[] = { SZ_64K, SZ_4K };
static const unsigned long bench_chunks_2m[] = { SZ_2M, SZ_4K };

KUNIT_DEFINE_ACTION_WRAPPER(bench_pci_dev_put, pci_dev_put, struct pci_dev *);
KUNIT_DEFINE_ACTION_WRAPPER(bench_drm_dev_put, drm_dev_put,
			    struct drm_device *);

/*
 * The device of the IOMMU rows: QEMU's edu PCI device in a translating
 * domain of an IOMMU, held until the case ends. NULL, saying @why, if the
 * guest has none.
 */
static struct pci_dev *bench_iommu_pdev(struct kunit *test, const char **why)
{
	struct iommu_domain *domain;
	struct pci_dev *pdev;

	pdev = pci_get_device(BENCH_EDU_VENDOR, BENCH_EDU_DEVICE, NULL);
	if (!pdev) {
		*why = "no edu PCI device";
		return NULL;
	}
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, bench_pci_dev_put,
							pdev), 0);
	domain = iommu_get_domain_for_dev(&pdev->dev);
	if (!domain || !(domain->type & __IOMMU_DOMAIN_PAGING)) {
		*why = "the edu PCI device is not behind a translating IOMMU";
		return NULL;
	}
	return pdev;
}

/* The DMA device of an IOMMU case; the case is skipped without one. */
static struct device *bench_iommu_dev(struct kunit *test)
{
	struct pci_dev *pdev;
	const char *why;

	pdev = bench_iommu_pdev(test, &why);
	if (!pdev)
		kunit_skip(test, "%s", why);
	return &pdev->dev;
}

/* A DRM device on the IOMMU device: the library maps through its dev. */
static const struct drm_driver bench_drm_driver = {
	.name = "gpusvm-bench",
	.desc = "GPU SVM benchmark",
};

/* A test GPU whose DMA device is @dev, or a dma-direct one if @dev is NULL. */
static struct test_gpu *bench_gpu_create(struct kunit *test,
					 struct device *dev,
					 const unsigned long *chunks,
					 int num_chunks)
{
	struct drm_device *drm = NULL;

	if (dev) {
		drm = drm_dev_alloc(&bench_drm_driver, dev);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, drm);
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
								bench_drm_dev_put,
								drm), 0);
	}
	return test_gpu_create_on(test, drm, 0, TASK_SIZE, SZ_512M, chunks,
				  num_chunks);
}

static const char *bench_domain_type(const struct iommu_domain *domain)
{
	if (!domain)
		return "none";
	switch (domain->type) {
	case IOMMU_DOMAIN_DMA:
		return "dma_strict";
	case IOMMU_DOMAIN_DMA_FQ:
		return "dma_lazy";
	case IOMMU_DOMAIN_IDENTITY:
		return "identity";
	default:
		return "other";
	}
}

/*
 * What a dma_map_page() on @dev gives: the page's physical address
 * (dma-direct) or an I/O virtual address its IOMMU translates to it.
 */
static void bench_check_dma_device(struct kunit *test, const char *what,
				   struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);
	bool translates = false;
	struct page *page;
	phys_addr_t phys;
	dma_addr_t dma;

	page = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	phys = page_to_phys(page);
	dma = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, dma)) {
		__free_page(page);
		KUNIT_FAIL_AND_ABORT(test, "dma_map_page on %s failed",
				     dev_name(dev));
	}
	if (domain)
		translates = iommu_iova_to_phys(domain, dma) == phys;
	dma_unmap_page(dev, dma, PAGE_SIZE, DMA_BIDIRECTIONAL);
	__free_page(page);

	kunit_log(KERN_INFO, test, KUNIT_SUBTEST_INDENT
		  "# bench: {\"row\": \"dma_device\", \"dev\": \"%s\", \"kind\": \"check\", \"present\": true, \"device\": \"%s\", \"driver\": \"%s\", \"iommu_domain\": \"%s\", \"dma_is_phys\": %s, \"iommu_translates\": %s}\n",
		  what, dev_name(dev), dev->driver ? dev->driver->name : "none",
		  bench_domain_type(domain), dma == phys ? "true" : "false",
		  translates ? "true" : "false");
	if (domain) {
		KUNIT_EXPECT_NE(test, dma, phys);
		KUNIT_EXPECT_TRUE(test, translates);
	} else {
		KUNIT_EXPECT_EQ(test, dma, phys);
	}
}

/*
 * The DMA devices of the two columns: the dma-direct test device, and the
 * edu PCI device behind the IOMMU or why there is none.
 */
static void bench_dma_devices(struct kunit *test)
{
	struct test_gpu *gpu;
	struct pci_dev *pdev;
	const char *why;

	gpu = bench_gpu_create(test, NULL, bench_chunks_4k,
			       ARRAY_SIZE(bench_chunks_4k));
	bench_check_dma_device(test, "direct", gpu->drm->dev);

	pdev = bench_iommu_pdev(test, &why);
	if (pdev)
		bench_check_dma_device(test, "iommu", &pdev->dev);
	else
		kunit_log(KERN_INFO, test, KUNIT_SUBTEST_INDENT
			  "# bench: {\"row\": \"dma_device\", \"dev\": \"iommu\", \"kind\": \"check\", \"present\": false, \"why\": \"%s\"}\n",
			  why);
}

/* Anonymous memory of @size, @size aligned, THP or not, every page present. */
static unsigned long bench_mmap_populated(struct kunit *test,
					  unsigned long size, bool thp)
{
	unsigned long addr;

	addr = ALIGN(test_mmap(test, size + SZ_2M, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE), SZ_2M);
	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, size,
					 thp ? MADV_HUGEPAGE :
					       MADV_NOHUGEPAGE), 0);
	KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, size,
					 MADV_POPULATE_WRITE), 0);
	return addr;
}

/**
 * struct bench_fault - The GPU fault path over a populated span
 * @test: The KUnit case.
 * @gpu: The test GPU; its only range sizes are @chunk (and 4K).
 * @addr: Start of the span.
 * @size: Size of the span.
 * @chunk: Range size.
 * @ranges: The ranges of a library round.
 * @lock: The floor's driver lock: its invalidation takes it for write.
 * @notifier: The floor's interval notifier.
 * @pfns: The floor's hmm_range_fault() output, one per page.
 * @dma: The floor's DMA mappings.
 * @order: Order of each of @dma.
 * @nr_dma: Entries of @dma mapped.
 * @last_nr_dma: Entries the last floor round mapped.
 * @first_touch: Each round starts on a span with no page present.
 * @err: First error of a round.
 */
struct bench_fault {
	struct kunit *test;
	struct test_gpu *gpu;
	unsigned long addr;
	unsigned long size;
	unsigned long chunk;
	struct drm_gpusvm_range **ranges;
	struct rw_semaphore lock;
	struct mmu_interval_notifier notifier;
	unsigned long *pfns;
	dma_addr_t *dma;
	u8 *order;
	unsigned long nr_dma;
	unsigned long last_nr_dma;
	bool first_touch;
	int err;
};

/* For the first-touch rows: drop every page of the span (not timed). */
static void bench_fault_unpopulate(struct bench_fault *b)
{
	int err;

	if (!b->first_touch)
		return;
	err = do_madvise(b->gpu->mm, b->addr, b->size, MADV_DONTNEED);
	if (err && !b->err)
		b->err = err;
}

static bool bench_invalidate(struct mmu_interval_notifier *mni,
			     const struct mmu_notifier_range *range,
			     unsigned long cur_seq)
{
	struct bench_fault *b = container_of(mni, struct bench_fault,
					     notifier);

	if (!mmu_notifier_range_blockable(range))
		return false;

	down_write(&b->lock);
	mmu_interval_set_seq(mni, cur_seq);
	up_write(&b->lock);
	return true;
}

static const struct mmu_interval_notifier_ops bench_notifier_ops = {
	.invalidate = bench_invalidate,
};

/* The library: find_or_insert + get_pages per range, then teardown. */
static u64 bench_fault_library(void *data)
{
	struct bench_fault *b = data;
	struct test_gpu *gpu = b->gpu;
	unsigned long i, n = b->size / b->chunk;
	struct drm_gpusvm_range *range;
	u64 start;

	bench_fault_unpopulate(b);
	start = ktime_get_ns();
	mutex_lock(&gpu->lock);
	for (i = 0; i < n && !b->err; i++) {
		range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm,
							b->addr + i * b->chunk,
							gpu->gpuva_start,
							gpu->gpuva_end,
							&gpu->ctx);
		if (IS_ERR(range)) {
			b->err = PTR_ERR(range);
			break;
		}
		b->ranges[i] = range;
		if (drm_gpusvm_range_size(range) != b->chunk)
			b->err = -ERANGE;
		else
			b->err = drm_gpusvm_range_get_pages(&gpu->gpusvm,
							    range, &gpu->ctx);
	}
	while (i--)
		drm_gpusvm_range_remove(&gpu->gpusvm, b->ranges[i]);
	mutex_unlock(&gpu->lock);

	return ktime_get_ns() - start;
}

/* The mapping order the library uses for the entry at @hmm_pfns[i]. */
static unsigned int bench_order(unsigned long hmm_pfn, unsigned long i,
				unsigned long npages)
{
	unsigned long pfn = hmm_pfn & ~HMM_PFN_FLAGS;
	unsigned int order = hmm_pfn_to_map_order(hmm_pfn);

	if (pfn)
		order = min_t(unsigned int, order, __ffs(pfn));
	return min_t(unsigned int, order, ilog2(npages - i));
}

/* DMA-map the pages of one chunk, one entry per CPU mapping block. */
static int bench_dma_map(struct bench_fault *b, const unsigned long *pfns,
			 unsigned long npages)
{
	struct device *dev = b->gpu->drm->dev;
	unsigned int order;
	unsigned long i;
	dma_addr_t dma;

	for (i = 0; i < npages; i += 1UL << order) {
		order = bench_order(pfns[i], i, npages);
		dma = dma_map_page(dev, hmm_pfn_to_page(pfns[i]), 0,
				   PAGE_SIZE << order, DMA_BIDIRECTIONAL);
		if (dma_mapping_error(dev, dma))
			return -ENOMEM;
		b->dma[b->nr_dma] = dma;
		b->order[b->nr_dma++] = order;
	}
	return 0;
}

static void bench_dma_unmap(struct bench_fault *b)
{
	struct device *dev = b->gpu->drm->dev;

	while (b->nr_dma--)
		dma_unmap_page(dev, b->dma[b->nr_dma],
			       PAGE_SIZE << b->order[b->nr_dma],
			       DMA_BIDIRECTIONAL);
	b->nr_dma = 0;
}

/*
 * The loop of Documentation/mm/hmm.rst over [@start, @end): begin, fault
 * under the mmap lock, then under the driver lock check that no invalidation
 * ran and map the pages (if @map).
 */
static int bench_hmm_get_pages(struct bench_fault *b, unsigned long start,
			       unsigned long end, bool map)
{
	unsigned long deadline = jiffies +
				 msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct mm_struct *mm = b->gpu->mm;
	struct hmm_range range = {
		.notifier = &b->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = b->pfns + ((start - b->addr) >> PAGE_SHIFT),
		.default_flags = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
	};
	int err;

	for (;;) {
		range.notifier_seq = mmu_interval_read_begin(&b->notifier);
		mmap_read_lock(mm);
		err = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (err == -EBUSY && time_before(jiffies, deadline))
			continue;
		if (err)
			return err;

		down_read(&b->lock);
		if (mmu_interval_read_retry(&b->notifier, range.notifier_seq)) {
			up_read(&b->lock);
			if (time_after(jiffies, deadline))
				return -EBUSY;
			continue;
		}
		if (map)
			err = bench_dma_map(b, range.hmm_pfns,
					    (end - start) >> PAGE_SHIFT);
		up_read(&b->lock);
		return err;
	}
}

/* The floor of the fault path: the mm loop per range, or once (bulk). */
static u64 bench_fault_floor(struct bench_fault *b, bool per_range)
{
	unsigned long addr, step = per_range ? b->chunk : b->size;
	u64 start;
	int err;

	bench_fault_unpopulate(b);
	start = ktime_get_ns();
	err = mmu_interval_notifier_insert(&b->notifier, b->gpu->mm, b->addr,
					   b->size, &bench_notifier_ops);
	for (addr = b->addr; !err && addr < b->addr + b->size; addr += step)
		err = bench_hmm_get_pages(b, addr, addr + step, per_range);
	if (per_range) {
		b->last_nr_dma = b->nr_dma;
		bench_dma_unmap(b);
	}
	if (b->notifier.mm)
		mmu_interval_notifier_remove(&b->notifier);
	b->notifier.mm = NULL;
	if (err)
		b->err = err;

	return ktime_get_ns() - start;
}

static u64 bench_fault_floor_range(void *data)
{
	return bench_fault_floor(data, true);
}

static u64 bench_fault_floor_bulk(void *data)
{
	return bench_fault_floor(data, false);
}

struct bench_fault_param {
	const char *name;
	const unsigned long *chunks;
	int num_chunks;
	bool thp;
	bool first_touch;
};

static const struct bench_fault_param bench_fault_params[] = {
	{ "fault_4k", bench_chunks_4k, ARRAY_SIZE(bench_chunks_4k),
	  false, false },
	{ "fault_64k", bench_chunks_64k, ARRAY_SIZE(bench_chunks_64k),
	  false, false },
	{ "fault_2m", bench_chunks_2m, ARRAY_SIZE(bench_chunks_2m),
	  false, false },
	{ "fault_2m_thp", bench_chunks_2m, ARRAY_SIZE(bench_chunks_2m),
	  true, false },
	{ "fault_4k_first", bench_chunks_4k, ARRAY_SIZE(bench_chunks_4k),
	  false, true },
	{ "fault_64k_first", bench_chunks_64k, ARRAY_SIZE(bench_chunks_64k),
	  false, true },
	{ "fault_2m_first", bench_chunks_2m, ARRAY_SIZE(bench_chunks_2m),
	  false, true },
	{ "fault_2m_thp_first", bench_chunks_2m, ARRAY_SIZE(bench_chunks_2m),
	  true, true },
};

static void bench_fault_param_desc(const struct bench_fault_param *p,
				   char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bench_fault, bench_fault_params, bench_fault_param_desc);

/*
 * The GPU fault path per range, against its floors: over populated memory,
 * or over memory whose pages each round faults in first (first touch). The
 * pages are mapped for @dev, or for a dma-direct device if it is NULL.
 */
static void bench_fault_on(struct kunit *test, struct device *dev)
{
	const struct bench_fault_param *p = test->param_value;
	unsigned long npages = BENCH_FAULT_SPAN >> PAGE_SHIFT;
	struct bench_row *row;
	struct bench_fault *b;

	row = kunit_kzalloc(test, sizeof(*row), GFP_KERNEL);
	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, row);
	KUNIT_ASSERT_NOT_NULL(test, b);

	b->test = test;
	b->size = BENCH_FAULT_SPAN;
	b->chunk = p->chunks[0];
	b->first_touch = p->first_touch;
	b->addr = bench_mmap_populated(test, b->size, p->thp);
	b->gpu = bench_gpu_create(test, dev, p->chunks, p->num_chunks);
	init_rwsem(&b->lock);
	b->ranges = kunit_kcalloc(test, b->size / b->chunk,
				  sizeof(*b->ranges), GFP_KERNEL);
	b->pfns = kunit_kcalloc(test, npages, sizeof(*b->pfns), GFP_KERNEL);
	b->dma = kunit_kcalloc(test, npages, sizeof(*b->dma), GFP_KERNEL);
	b->order = kunit_kcalloc(test, npages, sizeof(*b->order), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b->ranges);
	KUNIT_ASSERT_NOT_NULL(test, b->pfns);
	KUNIT_ASSERT_NOT_NULL(test, b->dma);
	KUNIT_ASSERT_NOT_NULL(test, b->order);

	strscpy(row->name, p->name, sizeof(row->name));
	row->unit = "range";
	row->n = b->size / b->chunk;
	row->pages = b->chunk >> PAGE_SHIFT;
	row->iommu = !!dev;
	bench_add(row, "library", false, bench_fault_library);
	bench_add(row, "floor_range", true, bench_fault_floor_range);
	bench_add(row, "floor_bulk", true, bench_fault_floor_bulk);
	bench_run(test, row, b, &b->err);

	/* Whether THP backed the span: one DMA entry per 2M. */
	kunit_log(KERN_INFO, test, KUNIT_SUBTEST_INDENT
		  "# bench: {\"row\": \"%s\", \"dev\": \"%s\", \"what\": \"dma_entries\", \"kind\": \"info\", \"value\": %lu}\n",
		  row->name, dev ? "iommu" : "direct", b->last_nr_dma);
	test_gpu_expect_clean(b->gpu);
}

static void bench_fault(struct kunit *test)
{
	bench_fault_on(test, NULL);
}

static void bench_fault_iommu(struct kunit *test)
{
	bench_fault_on(test, bench_iommu_dev(test));
}

/**
 * struct bench_refault - Re-faults of ranges whose pages are current
 * @gpu: The test GPU.
 * @ranges: The ranges.
 * @n: Number of @ranges.
 * @err: First error of a round.
 */
struct bench_refault {
	struct test_gpu *gpu;
	struct drm_gpusvm_range **ranges;
	unsigned long n;
	int err;
};

static u64 bench_refault_library(void *data)
{
	struct bench_refault *b = data;
	struct test_gpu *gpu = b->gpu;
	u64 start = ktime_get_ns();
	unsigned long i;

	mutex_lock(&gpu->lock);
	for (i = 0; i < b->n && !b->err; i++)
		b->err = drm_gpusvm_range_get_pages(&gpu->gpusvm,
						    b->ranges[i], &gpu->ctx);
	mutex_unlock(&gpu->lock);

	return ktime_get_ns() - start;
}

static u64 bench_refault_floor(void *data)
{
	struct bench_refault *b = data;
	struct test_gpu *gpu = b->gpu;
	struct mmu_interval_notifier *mni;
	u64 start = ktime_get_ns();
	unsigned long i, seq;

	mutex_lock(&gpu->lock);
	for (i = 0; i < b->n && !b->err; i++) {
		mni = &b->ranges[i]->notifier->notifier;
		seq = mmu_interval_read_begin(mni);
		if (mmu_interval_read_retry(mni, seq))
			b->err = -EBUSY;
	}
	mutex_unlock(&gpu->lock);

	return ktime_get_ns() - start;
}

static const char * const bench_refault_params[] = {
	"refault_system", "refault_device",
};

static void bench_refault_param_desc(const char * const *name, char *desc)
{
	strscpy(desc, *name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bench_refault, bench_refault_params,
		  bench_refault_param_desc);

/*
 * get_pages on a current range against begin + retry of its notifier: system
 * pages, or device pages of the test VRAM (the span migrated there first).
 * The GPU and the VRAM map pages for @dev, or for dma-direct devices.
 */
static void bench_refault_on(struct kunit *test, struct device *dev)
{
	const char *name = *(const char * const *)test->param_value;
	bool device = !strcmp(name, "refault_device");
	struct test_vram_alloc *alloc = NULL;
	struct drm_gpusvm_range *range;
	struct test_vram *vram = NULL;
	struct bench_refault *b;
	struct bench_row *row;
	unsigned long addr, i;

	row = kunit_kzalloc(test, sizeof(*row), GFP_KERNEL);
	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, row);
	KUNIT_ASSERT_NOT_NULL(test, b);

	addr = bench_mmap_populated(test, BENCH_REFAULT_SPAN, false);
	/* Gone after the GPU (it maps the device pages), before the span. */
	if (device) {
		vram = test_vram_create_on(test, b, SZ_16M, dev);
		KUNIT_ASSERT_EQ(test, test_vram_migrate(vram, current->mm, addr,
							addr + BENCH_REFAULT_SPAN,
							0, &alloc), 0);
	}
	b->gpu = bench_gpu_create(test, dev, bench_chunks_4k,
				  ARRAY_SIZE(bench_chunks_4k));
	if (device)
		b->gpu->ctx.device_private_page_owner = b;
	b->n = BENCH_REFAULT_SPAN / SZ_4K;
	b->ranges = kunit_kcalloc(test, b->n, sizeof(*b->ranges), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b->ranges);

	mutex_lock(&b->gpu->lock);
	for (i = 0; i < b->n && !b->err; i++) {
		range = drm_gpusvm_range_find_or_insert(&b->gpu->gpusvm,
							addr + i * SZ_4K, 0,
							TASK_SIZE,
							&b->gpu->ctx);
		if (IS_ERR(range)) {
			b->err = PTR_ERR(range);
			break;
		}
		b->ranges[i] = range;
		b->err = drm_gpusvm_range_get_pages(&b->gpu->gpusvm, range,
						    &b->gpu->ctx);
	}
	mutex_unlock(&b->gpu->lock);
	KUNIT_ASSERT_EQ(test, b->err, 0);
	if (device)
		KUNIT_ASSERT_TRUE(test, b->ranges[0]->pages.flags.has_devmem_pages);

	strscpy(row->name, name, sizeof(row->name));
	row->unit = "range";
	row->n = b->n;
	row->pages = 1;
	row->iommu = !!dev;
	bench_add(row, "library", false, bench_refault_library);
	bench_add(row, "floor_seq", true, bench_refault_floor);
	bench_run(test, row, b, &b->err);
	test_gpu_expect_clean(b->gpu);
	/* Evicts while the allocation, freed with the case, is alive. */
	if (device)
		test_vram_expect_clean(vram);
}

static void bench_refault(struct kunit *test)
{
	bench_refault_on(test, NULL);
}

static void bench_refault_iommu(struct kunit *test)
{
	bench_refault_on(test, bench_iommu_dev(test));
}

/**
 * struct bench_bare_notifier - A notifier window of the bare trees
 * @itree: Node in &bench_lookup.bare_root.
 * @root: Bare nodes of the ranges of the window.
 */
struct bench_bare_notifier {
	struct interval_tree_node itree;
	struct rb_root_cached root;
};

/**
 * struct bench_lookup - Lookups among N live ranges
 * @gpu: The test GPU holding the ranges.
 * @addrs: The address of each lookup of a round.
 * @bare_root: Bare interval tree of the notifier windows.
 * @bare_notifiers: Its nodes.
 * @bare_ranges: One bare node per range, in the tree of its window.
 * @sink: Keeps the bare lookups from being optimised away.
 * @err: First error of a round.
 */
struct bench_lookup {
	struct test_gpu *gpu;
	unsigned long *addrs;
	struct rb_root_cached bare_root;
	struct bench_bare_notifier *bare_notifiers;
	struct interval_tree_node *bare_ranges;
	unsigned long sink;
	int err;
};

static u64 bench_lookup_find(void *data)
{
	struct bench_lookup *b = data;
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;
	u64 start = ktime_get_ns();
	unsigned long a;
	int i;

	mutex_lock(&b->gpu->lock);
	for (i = 0; i < BENCH_LOOKUPS; i++) {
		a = b->addrs[i];
		notifier = drm_gpusvm_notifier_find(&b->gpu->gpusvm, a, a + 1);
		range = notifier ? drm_gpusvm_range_find(notifier, a, a + 1) :
				   NULL;
		if (!range)
			b->err = -ENOENT;
	}
	mutex_unlock(&b->gpu->lock);

	return ktime_get_ns() - start;
}

static u64 bench_lookup_find_or_insert(void *data)
{
	struct bench_lookup *b = data;
	struct test_gpu *gpu = b->gpu;
	struct drm_gpusvm_range *range;
	u64 start = ktime_get_ns();
	int i;

	mutex_lock(&gpu->lock);
	for (i = 0; i < BENCH_LOOKUPS; i++) {
		range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm,
							b->addrs[i],
							gpu->gpuva_start,
							gpu->gpuva_end,
							&gpu->ctx);
		if (IS_ERR(range))
			b->err = PTR_ERR(range);
	}
	mutex_unlock(&gpu->lock);

	return ktime_get_ns() - start;
}

/* The same two walks over bare interval trees of the same nodes. */
static u64 bench_lookup_floor(void *data)
{
	struct bench_lookup *b = data;
	struct bench_bare_notifier *bn;
	struct interval_tree_node *node;
	u64 start = ktime_get_ns();
	unsigned long a;
	int i;

	mutex_lock(&b->gpu->lock);
	for (i = 0; i < BENCH_LOOKUPS; i++) {
		a = b->addrs[i];
		node = interval_tree_iter_first(&b->bare_root, a, a);
		if (node) {
			bn = container_of(node, struct bench_bare_notifier,
					  itree);
			node = interval_tree_iter_first(&bn->root, a, a);
		}
		if (!node)
			b->err = -ENOENT;
		b->sink += (unsigned long)node;
	}
	mutex_unlock(&b->gpu->lock);

	return ktime_get_ns() - start;
}

KUNIT_DEFINE_ACTION_WRAPPER(bench_kvfree, kvfree, const void *);

/* Mirror the notifiers and ranges of the GPU in bare interval trees. */
static void bench_lookup_build_bare(struct kunit *test, struct bench_lookup *b,
				    unsigned long nr_ranges)
{
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;
	struct bench_bare_notifier *bn;
	struct interval_tree_node *node;
	unsigned long nr_notifiers = 0, r = 0;

	mutex_lock(&b->gpu->lock);
	drm_gpusvm_for_each_notifier(notifier, &b->gpu->gpusvm, 0, ULONG_MAX)
		nr_notifiers++;
	mutex_unlock(&b->gpu->lock);

	b->bare_root = RB_ROOT_CACHED;
	b->bare_notifiers = kunit_kcalloc(test, nr_notifiers,
					  sizeof(*b->bare_notifiers),
					  GFP_KERNEL);
	b->bare_ranges = kvcalloc(nr_ranges, sizeof(*b->bare_ranges),
				  GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b->bare_notifiers);
	KUNIT_ASSERT_NOT_NULL(test, b->bare_ranges);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, bench_kvfree,
							b->bare_ranges), 0);

	mutex_lock(&b->gpu->lock);
	bn = b->bare_notifiers;
	drm_gpusvm_for_each_notifier(notifier, &b->gpu->gpusvm, 0, ULONG_MAX) {
		bn->itree.start = notifier->itree.start;
		bn->itree.last = notifier->itree.last;
		bn->root = RB_ROOT_CACHED;
		interval_tree_insert(&bn->itree, &b->bare_root);
		drm_gpusvm_for_each_range(range, notifier, 0, ULONG_MAX) {
			if (r == nr_ranges)
				break;
			node = &b->bare_ranges[r++];
			node->start = range->itree.start;
			node->last = range->itree.last;
			interval_tree_insert(node, &bn->root);
		}
		bn++;
	}
	mutex_unlock(&b->gpu->lock);
	KUNIT_ASSERT_EQ(test, r, nr_ranges);
}

static const unsigned long bench_lookup_params[] = {
	1, 1000, 100000, 1000000,
};

static void bench_lookup_param_desc(const unsigned long *n, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "lookup_%lu", *n);
}

KUNIT_ARRAY_PARAM(bench_lookup, bench_lookup_params, bench_lookup_param_desc);

/* The memory the kernel could still hand out, in bytes. */
static long bench_mem_available(void)
{
	return si_mem_available() << PAGE_SHIFT;
}

/*
 * Range lookup among N live 4K ranges against bare interval trees: first with
 * ranges that hold no pages (find_or_insert checks the VMA), then once the
 * ranges looked up hold a current mapping (a re-fault's lookup). The ranges
 * are read-only mirrors of untouched memory: their pages are the zero page,
 * so that a million of them fit in the guest.
 */
static void bench_lookup(struct kunit *test)
{
	unsigned long n = *(const unsigned long *)test->param_value;
	struct drm_gpusvm_range *range;
	struct bench_row *row, *mapped;
	unsigned long addr, i;
	struct bench_lookup *b;
	long avail;

	row = kunit_kzalloc(test, sizeof(*row), GFP_KERNEL);
	mapped = kunit_kzalloc(test, sizeof(*mapped), GFP_KERNEL);
	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, row);
	KUNIT_ASSERT_NOT_NULL(test, mapped);
	KUNIT_ASSERT_NOT_NULL(test, b);

	/* Address space only: ranges need a VMA, not pages. */
	addr = test_mmap(test, n * SZ_4K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_NORESERVE);
	b->gpu = test_gpu_create(test, 0, TASK_SIZE, SZ_512M, bench_chunks_4k,
				 ARRAY_SIZE(bench_chunks_4k));
	b->gpu->ctx.read_only = true;
	b->addrs = kunit_kcalloc(test, BENCH_LOOKUPS, sizeof(*b->addrs),
				 GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b->addrs);

	avail = bench_mem_available();
	mutex_lock(&b->gpu->lock);
	for (i = 0; i < n; i++) {
		range = drm_gpusvm_range_find_or_insert(&b->gpu->gpusvm,
							addr + i * SZ_4K, 0,
							TASK_SIZE,
							&b->gpu->ctx);
		if (IS_ERR(range)) {
			b->err = PTR_ERR(range);
			break;
		}
	}
	mutex_unlock(&b->gpu->lock);
	KUNIT_ASSERT_EQ(test, b->err, 0);
	KUNIT_ASSERT_EQ(test, (unsigned long)atomic_read(&b->gpu->ranges), n);
	avail -= bench_mem_available();
	if (n >= 100000)
		kunit_log(KERN_INFO, test, KUNIT_SUBTEST_INDENT
			  "# bench: {\"row\": \"memory\", \"what\": \"measured_per_range_%lu\", \"kind\": \"size\", \"bytes\": %lu, \"alloc_bytes\": %lu}\n",
			  n, avail / n, avail / n);

	/* Spread over all N ranges in a fixed pseudo-random order. */
	for (i = 0; i < BENCH_LOOKUPS; i++)
		b->addrs[i] = addr + ((i * 7919UL) % n) * SZ_4K + SZ_2K;
	bench_lookup_build_bare(test, b, n);

	snprintf(row->name, sizeof(row->name), "lookup_%lu", n);
	row->unit = "lookup";
	row->n = BENCH_LOOKUPS;
	bench_add(row, "range_find", false, bench_lookup_find);
	bench_add(row, "find_or_insert", false, bench_lookup_find_or_insert);
	bench_add(row, "floor_tree", true, bench_lookup_floor);
	bench_run(test, row, b, &b->err);

	/* Map the ranges looked up; the others stay without pages. */
	mutex_lock(&b->gpu->lock);
	for (i = 0; i < BENCH_LOOKUPS && !b->err; i++) {
		range = drm_gpusvm_range_find_or_insert(&b->gpu->gpusvm,
							b->addrs[i], 0,
							TASK_SIZE,
							&b->gpu->ctx);
		b->err = IS_ERR(range) ? PTR_ERR(range) :
			 drm_gpusvm_range_get_pages(&b->gpu->gpusvm, range,
						    &b->gpu->ctx);
	}
	mutex_unlock(&b->gpu->lock);
	KUNIT_ASSERT_EQ(test, b->err, 0);

	snprintf(mapped->name, sizeof(mapped->name), "lookup_%lu_mapped", n);
	mapped->unit = "lookup";
	mapped->n = BENCH_LOOKUPS;
	bench_add(mapped, "find_or_insert", false,
		  bench_lookup_find_or_insert);
	bench_add(mapped, "floor_tree", true, bench_lookup_floor);
	bench_run(test, mapped, b, &b->err);
	test_gpu_expect_clean(b->gpu);
}

/* Invalidations per round of the invalidation rows. */
#define BENCH_INVALS		64

/**
 * struct bench_inval - Invalidation of one page among N ranges of a notifier
 * @gpu_n: The GPU whose one notifier holds @n ranges.
 * @gpu_1: The GPU whose one notifier holds a single range.
 * @addr_n: Start of the ranges of @gpu_n.
 * @addr_1: The range of @gpu_1.
 * @n: Ranges of @gpu_n.
 * @err: First error of a round.
 */
struct bench_inval {
	struct test_gpu *gpu_n;
	struct test_gpu *gpu_1;
	unsigned long addr_n;
	unsigned long addr_1;
	unsigned long n;
	int err;
};

/*
 * BENCH_INVALS invalidations of one page each, by MADV_DONTNEED: the core mm
 * walks its notifiers, the library's callback takes the notifier lock and the
 * driver's callback finds the range and drops its mapping. Before each (not
 * timed) the range is mapped again, so that every invalidation unmaps.
 */
static u64 bench_inval_round(struct bench_inval *b, struct test_gpu *gpu,
			     unsigned long addr, unsigned long n)
{
	struct drm_gpusvm_range *range;
	unsigned long a;
	u64 ns = 0, t;
	int i, err;

	for (i = 0; i < BENCH_INVALS && !b->err; i++) {
		a = addr + ((i * 7919UL) % n) * SZ_4K;
		mutex_lock(&gpu->lock);
		range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, a, 0,
							TASK_SIZE, &gpu->ctx);
		err = IS_ERR(range) ? PTR_ERR(range) :
		      drm_gpusvm_range_get_pages(&gpu->gpusvm, range,
						 &gpu->ctx);
		mutex_unlock(&gpu->lock);
		if (!err) {
			t = ktime_get_ns();
			err = do_madvise(gpu->mm, a, SZ_4K, MADV_DONTNEED);
			ns += ktime_get_ns() - t;
		}
		if (err)
			b->err = err;
	}

	return ns;
}

static u64 bench_inval_n(void *data)
{
	struct bench_inval *b = data;

	return bench_inval_round(b, b->gpu_n, b->addr_n, b->n);
}

static u64 bench_inval_1(void *data)
{
	struct bench_inval *b = data;

	return bench_inval_round(b, b->gpu_1, b->addr_1, 1);
}

/* A GPU with one notifier (of @notifier_size) holding @n 4K ranges. */
static struct test_gpu *bench_inval_gpu(struct kunit *test,
					unsigned long n,
					unsigned long notifier_size,
					unsigned long *addr)
{
	struct drm_gpusvm_range *range;
	struct test_gpu *gpu;
	unsigned long i;
	int err = 0;

	*addr = ALIGN(test_mmap(test, n * SZ_4K + notifier_size,
				PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_NORESERVE), notifier_size);
	gpu = test_gpu_create(test, 0, TASK_SIZE, notifier_size,
			      bench_chunks_4k, ARRAY_SIZE(bench_chunks_4k));
	gpu->ctx.read_only = true;

	mutex_lock(&gpu->lock);
	for (i = 0; i < n && !err; i++) {
		range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm,
							*addr + i * SZ_4K, 0,
							TASK_SIZE, &gpu->ctx);
		if (IS_ERR(range))
			err = PTR_ERR(range);
	}
	mutex_unlock(&gpu->lock);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_TRUE(test, test_gpu_has_notifier(gpu, *addr,
						      *addr + n * SZ_4K));
	return gpu;
}

static const unsigned long bench_inval_params[] = {
	1000, 100000, 1000000,
};

static void bench_inval_param_desc(const unsigned long *n, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "invalidate_%lu", *n);
}

KUNIT_ARRAY_PARAM(bench_inval, bench_inval_params, bench_inval_param_desc);

/* Invalidation of one page in a notifier of N ranges against N = 1. */
static void bench_inval(struct kunit *test)
{
	unsigned long n = *(const unsigned long *)test->param_value;
	struct bench_inval *b;
	struct bench_row *row;

	row = kunit_kzalloc(test, sizeof(*row), GFP_KERNEL);
	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, row);
	KUNIT_ASSERT_NOT_NULL(test, b);

	/* One notifier window holds all N ranges (a million: 4 GiB). */
	b->n = n;
	b->gpu_n = bench_inval_gpu(test, n, SZ_8G, &b->addr_n);
	b->gpu_1 = bench_inval_gpu(test, 1, SZ_8G, &b->addr_1);

	snprintf(row->name, sizeof(row->name), "invalidate_%lu", n);
	row->unit = "invalidation";
	row->n = BENCH_INVALS;
	row->pages = 1;
	bench_add(row, "invalidate", false, bench_inval_n);
	bench_add(row, "floor_n1", true, bench_inval_1);
	bench_run(test, row, b, &b->err);
	test_gpus_expect_clean((struct test_gpu *[]){ b->gpu_n, b->gpu_1 }, 2);
}

/* Faults per round of the throughput row: 4K ranges over the fault span. */
#define BENCH_TPUT_SPAN		SZ_8M

/**
 * struct bench_tput - GPU faults from one kthread, as fast as they go
 * @gpu: The test GPU.
 * @mm: The mm the kthread faults in (a reference is held).
 * @addr: Start of the span.
 * @ns: Time of each round, the warm-up first.
 * @done: Completed when the kthread finished.
 * @err: First error of a round.
 */
struct bench_tput {
	struct test_gpu *gpu;
	struct mm_struct *mm;
	unsigned long addr;
	u64 ns[BENCH_REPS + 1];
	struct completion done;
	int err;
};

/* A fault handler's loop: every page of the span once, then teardown. */
static int bench_tput_thread(void *data)
{
	struct bench_tput *b = data;
	unsigned long a;
	u64 start;
	int rep;

	kthread_use_mm(b->mm);
	for (rep = 0; rep <= BENCH_REPS && !b->err; rep++) {
		start = ktime_get_ns();
		for (a = b->addr; a < b->addr + BENCH_TPUT_SPAN && !b->err;
		     a += SZ_4K)
			b->err = test_gpu_fault(b->gpu, a, true);
		b->ns[rep] = ktime_get_ns() - start;
		test_gpu_remove_all_ranges(b->gpu);
		cond_resched();
	}
	kthread_unuse_mm(b->mm);
	kthread_complete_and_exit(&b->done, 0);
}

/* GPU-fault throughput of one faulting kthread (the driver's fault path). */
static void bench_tput(struct kunit *test)
{
	unsigned long faults = BENCH_TPUT_SPAN / SZ_4K;
	struct task_struct *task;
	struct bench_tput *b;
	u64 min, median;

	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	b->addr = bench_mmap_populated(test, BENCH_TPUT_SPAN, false);
	b->gpu = test_gpu_create(test, 0, TASK_SIZE, SZ_512M, bench_chunks_4k,
				 ARRAY_SIZE(bench_chunks_4k));
	b->mm = current->mm;
	init_completion(&b->done);

	mmget(b->mm);
	task = kthread_run(bench_tput_thread, b, "gpusvm-bench-fault");
	if (IS_ERR(task)) {
		mmput(b->mm);
		KUNIT_FAIL_AND_ABORT(test, "kthread_run: %ld", PTR_ERR(task));
	}
	wait_for_completion(&b->done);
	mmput(b->mm);
	KUNIT_ASSERT_EQ(test, b->err, 0);

	sort(&b->ns[1], BENCH_REPS, sizeof(b->ns[0]), bench_cmp_u64, NULL);
	min = b->ns[1];
	median = b->ns[1 + BENCH_REPS / 2];
	kunit_log(KERN_INFO, test, KUNIT_SUBTEST_INDENT
		  "# bench: {\"row\": \"fault_throughput\", \"what\": \"kthread\", \"kind\": \"throughput\", \"faults\": %lu, \"reps\": %d, \"faults_per_s_max\": %llu, \"faults_per_s_median\": %llu}\n",
		  faults, BENCH_REPS, div64_u64(faults * NSEC_PER_SEC, min),
		  div64_u64(faults * NSEC_PER_SEC, median));
	test_gpu_expect_clean(b->gpu);
}

/**
 * struct bench_migrate - Migration of a span to device memory and back
 * @test: The KUnit case.
 * @vram: The test VRAM the library migrates into.
 * @alloc: The library's allocation holding the span, between rounds.
 * @addr: Start of the span.
 * @size: Size of the span.
 * @dev: The device that DMA-maps the system pages.
 * @pagemap: The floor's own device-private pages.
 * @res: Their physical range.
 * @pfn_first: Their first pfn.
 * @backing: The floor's system page holding each device page's data.
 * @src: migrate_vma / migrate_device source pfns of the floor.
 * @dst: Destination pfns of the floor.
 * @copy_src: Source pages of the memcpy floor.
 * @copy_dst: Destination pages of the memcpy floor.
 * @err: First error of a round.
 */
struct bench_migrate {
	struct kunit *test;
	struct test_vram *vram;
	struct test_vram_alloc *alloc;
	unsigned long addr;
	unsigned long size;
	struct device *dev;
	struct dev_pagemap pagemap;
	struct resource *res;
	unsigned long pfn_first;
	struct page **backing;
	unsigned long *src;
	unsigned long *dst;
	struct page **copy_src;
	struct page **copy_dst;
	int err;
};

/* The floor's device pages are never touched by the CPU while they hold data. */
static vm_fault_t bench_migrate_to_ram(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

/* The floor keeps its own allocation state: nothing to do. */
static void bench_page_free(struct page *page)
{
}

static const struct dev_pagemap_ops bench_pagemap_ops = {
	.page_free = bench_page_free,
	.migrate_to_ram = bench_migrate_to_ram,
};

static u64 bench_migrate_library_to_vram(void *data)
{
	struct bench_migrate *b = data;
	u64 start = ktime_get_ns();

	b->err = test_vram_migrate(b->vram, current->mm, b->addr,
				   b->addr + b->size, 0, &b->alloc);

	return ktime_get_ns() - start;
}

static u64 bench_migrate_library_to_ram(void *data)
{
	struct bench_migrate *b = data;
	u64 start = ktime_get_ns();

	b->err = drm_pagemap_evict_to_ram(&b->alloc->devmem);
	if (!b->err &&
	    !wait_for_completion_timeout(&b->alloc->devmem.detached, 10 * HZ))
		b->err = -ETIMEDOUT;

	return ktime_get_ns() - start;
}

/* Give the device page of index @i back, with its data page. */
static void bench_migrate_abort_page(struct bench_migrate *b, unsigned long i)
{
	struct page *dpage = migrate_pfn_to_page(b->dst[i]);

	if (dpage) {
		unlock_page(dpage);
		put_page(dpage);
		b->dst[i] = 0;
	}
	if (b->backing[i]) {
		__free_page(b->backing[i]);
		b->backing[i] = NULL;
	}
}

/*
 * The floor to device memory: migrate_vma_setup(), a fresh data page, a DMA
 * map and a plain copy per page, migrate_vma_pages() and finalize. The data
 * page comes zeroed, as the test VRAM's allocator gives it: the device work
 * is the same on both sides, the difference is the library's.
 */
static u64 bench_migrate_floor_to_vram(void *data)
{
	struct bench_migrate *b = data;
	unsigned long i, npages = b->size >> PAGE_SHIFT;
	struct mm_struct *mm = current->mm;
	struct migrate_vma args = {
		.start = b->addr,
		.end = b->addr + b->size,
		.src = b->src,
		.dst = b->dst,
		.pgmap_owner = &b->pagemap,
		.flags = MIGRATE_VMA_SELECT_SYSTEM,
	};
	struct page *spage;
	u64 start = ktime_get_ns();
	dma_addr_t dma;
	int err;

	mmap_read_lock(mm);
	args.vma = vma_lookup(mm, b->addr);
	err = args.vma ? migrate_vma_setup(&args) : -ENOENT;
	if (err)
		goto out_unlock;

	for (i = 0; i < npages && !err; i++) {
		spage = migrate_pfn_to_page(args.src[i]);
		if (!spage || !(args.src[i] & MIGRATE_PFN_MIGRATE)) {
			err = -EBUSY;
			break;
		}
		b->backing[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!b->backing[i]) {
			err = -ENOMEM;
			break;
		}
		dma = dma_map_page(b->dev, spage, 0, PAGE_SIZE, DMA_TO_DEVICE);
		if (dma_mapping_error(b->dev, dma)) {
			err = -ENOMEM;
			break;
		}
		copy_highpage(b->backing[i], spage);
		dma_unmap_page(b->dev, dma, PAGE_SIZE, DMA_TO_DEVICE);
		zone_device_page_init(pfn_to_page(b->pfn_first + i));
		args.dst[i] = migrate_pfn(b->pfn_first + i) |
			      (args.src[i] & MIGRATE_PFN_WRITE);
	}
	if (err) {
		for (i = 0; i < npages; i++)
			bench_migrate_abort_page(b, i);
	} else {
		migrate_vma_pages(&args);
		for (i = 0; i < npages; i++)
			if (!(args.src[i] & MIGRATE_PFN_MIGRATE))
				err = -EBUSY;
	}
	migrate_vma_finalize(&args);
out_unlock:
	mmap_read_unlock(mm);
	if (err)
		b->err = err;

	return ktime_get_ns() - start;
}

/*
 * The floor back to system memory, as an eviction: migrate_device_range()
 * over the device pfns, a fresh page, a DMA map and a plain copy per page,
 * migrate_device_pages() and finalize.
 */
static u64 bench_migrate_floor_to_ram(void *data)
{
	struct bench_migrate *b = data;
	unsigned long i, npages = b->size >> PAGE_SHIFT;
	struct page *spage, *dpage;
	u64 start = ktime_get_ns();
	dma_addr_t dma;
	int err;

	memset(b->dst, 0, npages * sizeof(*b->dst));
	err = migrate_device_range(b->src, b->pfn_first, npages);
	for (i = 0; i < npages && !err; i++) {
		spage = migrate_pfn_to_page(b->src[i]);
		if (!spage || !(b->src[i] & MIGRATE_PFN_MIGRATE)) {
			err = -EBUSY;
			break;
		}
		dpage = alloc_page(GFP_HIGHUSER);
		if (!dpage) {
			err = -ENOMEM;
			break;
		}
		lock_page(dpage);
		b->dst[i] = migrate_pfn(page_to_pfn(dpage)) |
			    (b->src[i] & MIGRATE_PFN_WRITE);
		dma = dma_map_page(b->dev, dpage, 0, PAGE_SIZE,
				   DMA_FROM_DEVICE);
		if (dma_mapping_error(b->dev, dma)) {
			err = -ENOMEM;
			break;
		}
		copy_highpage(dpage, b->backing[i]);
		dma_unmap_page(b->dev, dma, PAGE_SIZE, DMA_FROM_DEVICE);
	}
	if (err) {
		/* The pages stay in device memory, the case's unmap frees them. */
		for (i = 0; i < npages; i++) {
			dpage = migrate_pfn_to_page(b->dst[i]);
			if (!dpage)
				continue;
			unlock_page(dpage);
			put_page(dpage);
			b->dst[i] = 0;
		}
	} else {
		migrate_device_pages(b->src, b->dst, npages);
		for (i = 0; i < npages; i++)
			if (!(b->src[i] & MIGRATE_PFN_MIGRATE))
				err = -EBUSY;
	}
	migrate_device_finalize(b->src, b->dst, npages);
	for (i = 0; !err && i < npages; i++) {
		__free_page(b->backing[i]);
		b->backing[i] = NULL;
	}
	if (err)
		b->err = err;

	return ktime_get_ns() - start;
}

/* The bandwidth floor of any migration: a plain copy of every page. */
static u64 bench_migrate_floor_memcpy(void *data)
{
	struct bench_migrate *b = data;
	unsigned long i, npages = b->size >> PAGE_SHIFT;
	u64 start = ktime_get_ns();

	for (i = 0; i < npages; i++)
		copy_highpage(b->copy_dst[i], b->copy_src[i]);

	return ktime_get_ns() - start;
}

static void bench_migrate_free_copy(void *data)
{
	struct bench_migrate *b = data;
	unsigned long i;

	for (i = 0; i < b->size >> PAGE_SHIFT; i++) {
		if (b->copy_src[i])
			__free_page(b->copy_src[i]);
		if (b->copy_dst[i])
			__free_page(b->copy_dst[i]);
	}
}

/* Pages for the memcpy floor, written once so that they are all there. */
static void bench_migrate_copy_pages(struct kunit *test,
				     struct bench_migrate *b)
{
	unsigned long i, npages = b->size >> PAGE_SHIFT;

	b->copy_src = kunit_kcalloc(test, npages, sizeof(*b->copy_src),
				    GFP_KERNEL);
	b->copy_dst = kunit_kcalloc(test, npages, sizeof(*b->copy_dst),
				    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b->copy_src);
	KUNIT_ASSERT_NOT_NULL(test, b->copy_dst);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							bench_migrate_free_copy,
							b), 0);
	for (i = 0; i < npages; i++) {
		b->copy_src[i] = alloc_page(GFP_HIGHUSER | __GFP_ZERO);
		b->copy_dst[i] = alloc_page(GFP_HIGHUSER | __GFP_ZERO);
		KUNIT_ASSERT_NOT_NULL(test, b->copy_src[i]);
		KUNIT_ASSERT_NOT_NULL(test, b->copy_dst[i]);
	}
}

static void bench_migrate_release(void *data)
{
	struct bench_migrate *b = data;
	unsigned long i;

	memunmap_pages(&b->pagemap);
	release_mem_region(b->res->start, resource_size(b->res));
	for (i = 0; i < BENCH_MIGRATE_MAX >> PAGE_SHIFT; i++)
		if (b->backing[i])
			__free_page(b->backing[i]);
}

/* The floor's device-private pages, released after the span is unmapped. */
static void bench_migrate_pagemap(struct kunit *test, struct bench_migrate *b)
{
	unsigned long npages = BENCH_MIGRATE_MAX >> PAGE_SHIFT;
	void *addr;

	b->backing = kunit_kcalloc(test, npages, sizeof(*b->backing),
				   GFP_KERNEL);
	b->src = kunit_kcalloc(test, npages, sizeof(*b->src), GFP_KERNEL);
	b->dst = kunit_kcalloc(test, npages, sizeof(*b->dst), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b->backing);
	KUNIT_ASSERT_NOT_NULL(test, b->src);
	KUNIT_ASSERT_NOT_NULL(test, b->dst);

	b->res = request_free_mem_region(&iomem_resource, BENCH_MIGRATE_MAX,
					 "gpusvm-bench");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b->res);
	b->pagemap.type = MEMORY_DEVICE_PRIVATE;
	b->pagemap.range.start = b->res->start;
	b->pagemap.range.end = b->res->end;
	b->pagemap.nr_range = 1;
	b->pagemap.ops = &bench_pagemap_ops;
	b->pagemap.owner = &b->pagemap;
	addr = memremap_pages(&b->pagemap, numa_node_id());
	if (IS_ERR(addr)) {
		release_mem_region(b->res->start, resource_size(b->res));
		KUNIT_FAIL_AND_ABORT(test, "memremap_pages: %ld",
				     PTR_ERR(addr));
	}
	b->pfn_first = PHYS_PFN(b->res->start);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							bench_migrate_release,
							b), 0);
}

static const unsigned long bench_migrate_params[] = {
	SZ_4K, SZ_64K, SZ_2M, SZ_8M, SZ_16M, BENCH_MIGRATE_MAX,
};

static void bench_migrate_param_desc(const unsigned long *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "migrate_%luk", *size / SZ_1K);
}

KUNIT_ARRAY_PARAM(bench_migrate, bench_migrate_params,
		  bench_migrate_param_desc);

/*
 * Migration to the test VRAM and back against bare migrate_vma / device,
 * system pages mapped for @dev, or for a dma-direct device if it is NULL.
 */
static void bench_migrate_on(struct kunit *test, struct device *dev)
{
	unsigned long size = *(const unsigned long *)test->param_value;
	struct bench_migrate *b;
	struct bench_row *row;

	row = kunit_kzalloc(test, sizeof(*row), GFP_KERNEL);
	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, row);
	KUNIT_ASSERT_NOT_NULL(test, b);

	/* Created first, so that the span is unmapped before it goes. */
	bench_migrate_pagemap(test, b);
	b->test = test;
	b->size = size;
	/* 4K device pages only on 6.12: keep THP out of the way. */
	b->addr = bench_mmap_populated(test, size, false);
	b->vram = test_vram_create_on(test, b, BENCH_MIGRATE_MAX, dev);
	b->dev = b->vram->dpagemap.dev;
	bench_migrate_copy_pages(test, b);

	snprintf(row->name, sizeof(row->name), "migrate_%luk", size / SZ_1K);
	row->unit = "migration";
	row->n = 1;
	row->pages = size >> PAGE_SHIFT;
	row->iommu = !!dev;
	bench_add(row, "to_vram", false, bench_migrate_library_to_vram);
	bench_add(row, "to_ram", false, bench_migrate_library_to_ram);
	bench_add(row, "floor_to_vram", true, bench_migrate_floor_to_vram);
	bench_add(row, "floor_to_ram", true, bench_migrate_floor_to_ram);
	bench_add(row, "memcpy", true, bench_migrate_floor_memcpy);
	bench_run(test, row, b, &b->err);
	test_vram_expect_clean(b->vram);
}

static void bench_migrate(struct kunit *test)
{
	bench_migrate_on(test, NULL);
}

static void bench_migrate_iommu(struct kunit *test)
{
	bench_migrate_on(test, bench_iommu_dev(test));
}

static void bench_print_size(struct kunit *test, const char *what,
			     size_t bytes, size_t alloc_bytes)
{
	kunit_log(KERN_INFO, test, KUNIT_SUBTEST_INDENT
		  "# bench: {\"row\": \"memory\", \"what\": \"%s\", \"kind\": \"size\", \"bytes\": %zu, \"alloc_bytes\": %zu}\n",
		  what, bytes, alloc_bytes);
}

/* What a range, a notifier and the DMA array of each range size cost. */
static void bench_memory(struct kunit *test)
{
	size_t dma;

	bench_print_size(test, "range", sizeof(struct drm_gpusvm_range),
			 kmalloc_size_roundup(sizeof(struct drm_gpusvm_range)));
	bench_print_size(test, "test_gpu_range", sizeof(struct test_gpu_range),
			 kmalloc_size_roundup(sizeof(struct test_gpu_range)));
	bench_print_size(test, "notifier", sizeof(struct drm_gpusvm_notifier),
			 kmalloc_size_roundup(sizeof(struct drm_gpusvm_notifier)));

	/* One entry per page is allocated; THP uses only the first. */
	dma = sizeof(struct drm_pagemap_addr);
	bench_print_size(test, "dma_array_4k", dma, kmalloc_size_roundup(dma));
	dma *= SZ_64K / SZ_4K;
	bench_print_size(test, "dma_array_64k", dma, kmalloc_size_roundup(dma));
	dma *= SZ_2M / SZ_64K;
	bench_print_size(test, "dma_array_2m", dma, kmalloc_size_roundup(dma));
}

/* Each timed case runs for seconds under emulation. */
#define BENCH_SLOW	{ .speed = KUNIT_SPEED_SLOW }

static struct kunit_case bench_cases[] = {
	KUNIT_CASE(bench_dma_devices),
	KUNIT_CASE_PARAM_ATTR(bench_fault, bench_fault_gen_params, BENCH_SLOW),
	KUNIT_CASE_PARAM_ATTR(bench_fault_iommu, bench_fault_gen_params,
			      BENCH_SLOW),
	KUNIT_CASE_PARAM_ATTR(bench_refault, bench_refault_gen_params,
			      BENCH_SLOW),
	KUNIT_CASE_PARAM_ATTR(bench_refault_iommu, bench_refault_gen_params,
			      BENCH_SLOW),
	KUNIT_CASE_PARAM_ATTR(bench_lookup, bench_lookup_gen_params,
			      BENCH_SLOW),
	KUNIT_CASE_PARAM_ATTR(bench_inval, bench_inval_gen_params, BENCH_SLOW),
	KUNIT_CASE_SLOW(bench_tput),
	KUNIT_CASE_PARAM_ATTR(bench_migrate, bench_migrate_gen_params,
			      BENCH_SLOW),
	KUNIT_CASE_PARAM_ATTR(bench_migrate_iommu, bench_migrate_gen_params,
			      BENCH_SLOW),
	KUNIT_CASE(bench_memory),
	{}
};

static struct kunit_suite bench_suite = {
	.name = "gpusvm_bench",
	.test_cases = bench_cases,
};

kunit_test_suite(bench_suite);

MODULE_DESCRIPTION("Benchmark of the GPU SVM helpers");
MODULE_LICENSE("GPL");
