// SPDX-License-Identifier: GPL-2.0-only
/*
 * Emulated VRAM for the GPU SVM KUnit suites.
 *
 * Device-private pages from request_free_mem_region() + memremap_pages(), an
 * allocator over them, and copy callbacks that really copy: the data of each
 * device page lives in a system page found by pfn index (the helpers own
 * zone_device_data). The test GPU reads device pages through that page.
 */

#include <kunit/resource.h>
#include <kunit/test.h>

#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/pagewalk.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/swap.h>
#include <linux/swapops.h>

#include <drm/drm_pagemap.h>

#include "drm_gpusvm_test_gpu.h"
#include "drm_gpusvm_test_vram.h"

static struct test_vram *page_to_vram(struct page *page)
{
	return container_of(page->pgmap, struct test_vram, pagemap);
}

static struct page **page_to_backing(struct page *page)
{
	struct test_vram *vram = page_to_vram(page);

	return &vram->backing[page_to_pfn(page) - vram->pfn_first];
}

static struct page *dma_to_page(struct test_vram *vram, dma_addr_t addr)
{
	return pfn_to_page(PHYS_PFN(test_dma_to_phys(vram->dpagemap.dev, addr)));
}

static int test_vram_populate_devmem_pfn(struct drm_pagemap_devmem *devmem,
					 unsigned long npages,
					 unsigned long *pfn)
{
	struct test_vram_alloc *alloc =
		container_of(devmem, struct test_vram_alloc, devmem);
	struct test_vram *vram = alloc->vram;
	struct page **pages;
	unsigned long i, first;
	unsigned int delay;
	int err = 0;

	if (vram->fail_populate) {
		vram->fail_populate = false;
		return -ENOMEM;
	}
	err = test_op_call(TEST_OP_POPULATE_DEVMEM_PFN);
	if (err)
		return err;
	/* A slow allocator: the migration has no device page meanwhile. */
	delay = xchg(&vram->populate_delay_ms, 0);
	if (delay) {
		complete(&vram->populate_entered);
		msleep(delay);
	}

	/* Asked again (eviction): the same pages. */
	if (alloc->first >= 0)
		goto out;
	if (vram->exhausted)
		return -ENOMEM;

	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < npages; i++) {
		pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pages[i]) {
			err = -ENOMEM;
			goto free_pages;
		}
	}

	spin_lock(&vram->lock);
	first = bitmap_find_next_zero_area(vram->used, vram->npages, 0,
					   npages, 0);
	if (first >= vram->npages) {
		spin_unlock(&vram->lock);
		err = -ENOMEM;
		goto free_pages;
	}
	bitmap_set(vram->used, first, npages);
	for (i = 0; i < npages; i++)
		vram->backing[first + i] = pages[i];
	spin_unlock(&vram->lock);
	kvfree(pages);

	alloc->first = first;
	alloc->npages = npages;
	atomic_add(npages, &vram->pages_in_use);
out:
	for (i = 0; i < npages; i++)
		pfn[i] = vram->pfn_first + alloc->first + i;
	return 0;

free_pages:
	for (i = 0; i < npages && pages[i]; i++)
		__free_page(pages[i]);
	kvfree(pages);
	return err;
}

/**
 * test_vram_release_alloc() - Give an allocation's pages back to the region
 * @alloc: The allocation, which holds no device page any more.
 *
 * What &drm_pagemap_devmem_ops.devmem_release does; for the cases whose
 * allocation has no such callback. May run in atomic context.
 */
void test_vram_release_alloc(struct test_vram_alloc *alloc)
{
	struct test_vram *vram = alloc->vram;
	unsigned long i;

	if (alloc->first >= 0) {
		spin_lock(&vram->lock);
		for (i = 0; i < alloc->npages; i++) {
			__free_page(vram->backing[alloc->first + i]);
			vram->backing[alloc->first + i] = NULL;
		}
		bitmap_clear(vram->used, alloc->first, alloc->npages);
		spin_unlock(&vram->lock);
		atomic_sub(alloc->npages, &vram->pages_in_use);
	}
	spin_lock(&vram->lock);
	list_del_init(&alloc->link);
	spin_unlock(&vram->lock);
	atomic_inc(&vram->releases);
	if (!preemptible())
		atomic_inc(&vram->atomic_releases);
	atomic_dec(&vram->allocations);
}

/* Runs when the allocation holds no device page any more; maybe atomic. */
static void test_vram_devmem_release(struct drm_pagemap_devmem *devmem)
{
	test_vram_release_alloc(container_of(devmem, struct test_vram_alloc,
					     devmem));
}

static void copy_page_data(struct page *dst, struct page *src)
{
	void *d = kmap_local_page(dst);
	void *s = kmap_local_page(src);

	memcpy(d, s, PAGE_SIZE);
	kunmap_local(s);
	kunmap_local(d);
}

static struct test_vram *first_vram(struct page **pages, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		if (pages[i])
			return page_to_vram(pages[i]);
	return NULL;
}

/* Copy between device pages and the system pages @pagemap_addr points at. */
static int test_vram_copy(struct page **pages,
			  struct drm_pagemap_addr *pagemap_addr,
			  unsigned long npages, bool to_ram)
{
	struct test_vram *vram = first_vram(pages, npages);
	struct page *sys;
	unsigned long i;
	bool *fail;
	int err;

	err = test_op_call(to_ram ? TEST_OP_COPY_TO_RAM :
				    TEST_OP_COPY_TO_DEVMEM);
	if (err)
		return err;
	if (!vram)
		return 0;
	fail = to_ram ? &vram->fail_copy_to_ram : &vram->fail_copy_to_devmem;
	if (*fail) {
		*fail = false;
		return -EIO;
	}
	if (to_ram)
		atomic_inc(&vram->copy_to_ram_calls);
	/* A slow copy engine: the migration holds its pages meanwhile. */
	if (to_ram && READ_ONCE(vram->copy_to_ram_delay_ms)) {
		complete(&vram->copy_to_ram_entered);
		msleep(READ_ONCE(vram->copy_to_ram_delay_ms));
	}

	for (i = 0; i < npages; i++) {
		if (!pages[i])
			continue;
		sys = dma_to_page(vram, pagemap_addr[i].addr);
		if (to_ram)
			copy_page_data(sys, *page_to_backing(pages[i]));
		else
			copy_page_data(*page_to_backing(pages[i]), sys);
	}
	return 0;
}

static int test_vram_copy_to_devmem(struct page **pages,
				    struct drm_pagemap_addr *pagemap_addr,
				    unsigned long npages)
{
	return test_vram_copy(pages, pagemap_addr, npages, false);
}

static int test_vram_copy_to_ram(struct page **pages,
				 struct drm_pagemap_addr *pagemap_addr,
				 unsigned long npages)
{
	return test_vram_copy(pages, pagemap_addr, npages, true);
}

static const struct drm_pagemap_devmem_ops test_vram_devmem_ops = {
	.populate_devmem_pfn = test_vram_populate_devmem_pfn,
	.devmem_release = test_vram_devmem_release,
	.copy_to_devmem = test_vram_copy_to_devmem,
	.copy_to_ram = test_vram_copy_to_ram,
};

/* The GPU reaches a device page through its backing page. */
static struct drm_pagemap_addr
test_vram_device_map(struct drm_pagemap *dpagemap, struct device *dev,
		     struct page *page, unsigned int order,
		     enum dma_data_direction dir)
{
	struct test_vram *vram = page_to_vram(page);
	phys_addr_t phys;

	if (vram->fail_device_map || test_op_call(TEST_OP_DEVICE_MAP)) {
		vram->fail_device_map = false;
		return drm_pagemap_addr_encode(DMA_MAPPING_ERROR,
					       DRM_INTERCONNECT_DRIVER, order,
					       dir);
	}

	spin_lock(&vram->lock);
	phys = page_to_phys(*page_to_backing(page));
	spin_unlock(&vram->lock);
	atomic_inc(&vram->device_maps);
	atomic_inc(&vram->device_map_calls);
	return drm_pagemap_addr_encode(phys, DRM_INTERCONNECT_DRIVER, order,
				       dir);
}

static void test_vram_device_unmap(struct drm_pagemap *dpagemap,
				   struct device *dev,
				   struct drm_pagemap_addr addr)
{
	struct test_vram *vram = container_of(dpagemap, struct test_vram,
					      dpagemap);

	atomic_dec(&vram->device_maps);
}

static int test_vram_populate_mm(struct drm_pagemap *dpagemap,
				 unsigned long start, unsigned long end,
				 struct mm_struct *mm,
				 unsigned long timeslice_ms)
{
	struct test_vram *vram = container_of(dpagemap, struct test_vram,
					      dpagemap);
	struct test_vram_alloc *alloc;
	int err;

	err = test_op_call(TEST_OP_POPULATE_MM);
	if (err)
		return err;
	alloc = test_vram_alloc(vram, mm, end - start);
	if (!alloc)
		return -ENOMEM;
	return drm_pagemap_migrate_to_devmem(&alloc->devmem, mm, start, end,
					     timeslice_ms, vram->pagemap.owner);
}

static const struct drm_pagemap_ops test_vram_pagemap_ops = {
	.device_map = test_vram_device_map,
	.device_unmap = test_vram_device_unmap,
	.populate_mm = test_vram_populate_mm,
};

/**
 * test_vram_alloc() - Set up an allocation of emulated VRAM
 * @vram: The region.
 * @mm: The mm whose pages will move into it.
 * @size: Size in bytes.
 *
 * Device pages are taken when the helpers populate the allocation.
 *
 * Returns: The allocation (freed with the case), or NULL.
 */
struct test_vram_alloc *test_vram_alloc(struct test_vram *vram,
					struct mm_struct *mm, size_t size)
{
	struct test_vram_alloc *alloc;

	alloc = kunit_kzalloc(vram->test, sizeof(*alloc), GFP_KERNEL);
	if (!alloc)
		return NULL;
	alloc->vram = vram;
	alloc->first = -1;
	spin_lock(&vram->lock);
	list_add_tail(&alloc->link, &vram->live);
	spin_unlock(&vram->lock);
	drm_pagemap_devmem_init(&alloc->devmem, vram->dpagemap.dev, mm,
				&test_vram_devmem_ops, &vram->dpagemap, size);
	atomic_inc(&vram->allocations);
	return alloc;
}

/**
 * test_vram_migrate() - Migrate a span of an mm into a new allocation
 * @vram: The region.
 * @mm: The mm.
 * @start: Start of the span.
 * @end: End of the span.
 * @timeslice_ms: Minimum time on the device before a CPU fault moves it.
 * @allocp: Where to return the allocation (may be NULL).
 *
 * Returns: drm_pagemap_migrate_to_devmem()'s result.
 */
int test_vram_migrate(struct test_vram *vram, struct mm_struct *mm,
		      unsigned long start, unsigned long end,
		      unsigned long timeslice_ms,
		      struct test_vram_alloc **allocp)
{
	struct test_vram_alloc *alloc = test_vram_alloc(vram, mm, end - start);
	int err;

	if (!alloc)
		return -ENOMEM;
	if (allocp)
		*allocp = alloc;

	mmap_read_lock(mm);
	err = drm_pagemap_migrate_to_devmem(&alloc->devmem, mm, start, end,
					    timeslice_ms, vram->pagemap.owner);
	mmap_read_unlock(mm);
	return err;
}

struct device_page_walk {
	struct test_vram *vram;
	bool found;
};

static int test_vram_pte_entry(pte_t *pte, unsigned long addr,
			       unsigned long next, struct mm_walk *walk)
{
	struct device_page_walk *w = walk->private;
	pte_t entry = ptep_get(pte);
	swp_entry_t swp;

	if (pte_present(entry) || !is_swap_pte(entry))
		return 0;
	swp = pte_to_swp_entry(entry);
	if (is_device_private_entry(swp) &&
	    pfn_swap_entry_to_page(swp)->pgmap == &w->vram->pagemap)
		w->found = true;
	return 0;
}

static const struct mm_walk_ops test_vram_walk_ops = {
	.pte_entry = test_vram_pte_entry,
	.walk_lock = PGWALK_RDLOCK,
};

/**
 * test_vram_is_device_page() - Whether the CPU maps a page of @vram at @addr
 * @vram: The region.
 * @mm: The mm.
 * @addr: CPU virtual address.
 *
 * Returns: true if the page at @addr lives in @vram right now.
 */
bool test_vram_is_device_page(struct test_vram *vram, struct mm_struct *mm,
			      unsigned long addr)
{
	struct device_page_walk w = { .vram = vram };

	addr &= PAGE_MASK;
	mmap_read_lock(mm);
	walk_page_range(mm, addr, addr + PAGE_SIZE, &test_vram_walk_ops, &w);
	mmap_read_unlock(mm);
	return w.found;
}

/**
 * test_vram_destroy() - Tear the region down (idempotent)
 * @vram: The region.
 *
 * What a driver does on unbind: evict every allocation still resident with
 * the eviction that cannot fail, then unmap the pages, which waits for every
 * device page to be freed.
 */
void test_vram_destroy(struct test_vram *vram)
{
	struct test_vram_alloc *alloc;

	if (!vram->res)
		return;

	for (;;) {
		spin_lock(&vram->lock);
		alloc = list_first_entry_or_null(&vram->live,
						 struct test_vram_alloc, link);
		spin_unlock(&vram->lock);
		if (!alloc)
			break;
		drm_pagemap_evict_to_ram_nofail(&alloc->devmem);
		/* Released meanwhile, unless it has no release callback. */
		if (!wait_for_completion_timeout(&alloc->devmem.detached,
						 60 * HZ)) {
			/* memunmap_pages() would wait forever: leak it. */
			KUNIT_FAIL(vram->test, "an evicted allocation stays attached");
			return;
		}
		if (!alloc->devmem.ops->devmem_release)
			test_vram_release_alloc(alloc);
	}
	memunmap_pages(&vram->pagemap);
	release_mem_region(vram->res->start, resource_size(vram->res));
	drm_pagemap_put(&vram->dpagemap);
	bitmap_free(vram->used);
	kvfree(vram->backing);
	vram->res = NULL;
}

/* Each region has a device of its own name. */
static atomic_t test_vram_ids = ATOMIC_INIT(0);

static void test_vram_unregister(void *dev)
{
	root_device_unregister(dev);
}

static void test_vram_release(void *data)
{
	test_vram_destroy(data);
}

/**
 * test_vram_expect_clean() - Tear down and expect nothing leaked
 * @vram: The region.
 */
void test_vram_expect_clean(struct test_vram *vram)
{
	struct kunit *test = vram->test;

	test_vram_destroy(vram);
	KUNIT_EXPECT_NULL(test, vram->res);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->pages_in_use), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->allocations), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->device_maps), 0);
}

/**
 * test_vram_create_on() - Create an emulated device memory region of a device
 * @test: The KUnit case.
 * @owner: The device-private page owner of the region.
 * @size: Size of the region in bytes, a multiple of the memory section
 *	size.
 * @dev: The device that DMA-maps the system pages of its migrations, e.g. a
 *	PCI device behind an IOMMU; it must outlive the case's region. NULL:
 *	a device of the region's own, with direct DMA.
 *
 * Returns: The region (the case is aborted on failure); torn down with the
 * case.
 */
struct test_vram *test_vram_create_on(struct kunit *test, void *owner,
				      unsigned long size, struct device *dev)
{
	struct test_vram *vram;
	char name[32];
	void *addr;

	vram = kunit_kzalloc(test, sizeof(*vram), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vram);
	vram->test = test;
	spin_lock_init(&vram->lock);
	INIT_LIST_HEAD(&vram->live);
	init_completion(&vram->copy_to_ram_entered);
	init_completion(&vram->populate_entered);

	/* The device owning the memory, apart from the test GPU's. */
	if (!dev) {
		snprintf(name, sizeof(name), "gpusvm-test-vram%d",
			 atomic_inc_return(&test_vram_ids));
		dev = root_device_register(name);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
								test_vram_unregister,
								dev), 0);
		KUNIT_ASSERT_EQ(test, dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64)), 0);
	}

	vram->res = request_free_mem_region(&iomem_resource, size,
					    "gpusvm-test-vram");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vram->res);
	vram->pagemap.type = MEMORY_DEVICE_PRIVATE;
	vram->pagemap.range.start = vram->res->start;
	vram->pagemap.range.end = vram->res->end;
	vram->pagemap.nr_range = 1;
	vram->pagemap.ops = drm_pagemap_pagemap_ops_get();
	vram->pagemap.owner = owner;
	addr = memremap_pages(&vram->pagemap, numa_node_id());
	if (IS_ERR(addr)) {
		release_mem_region(vram->res->start, resource_size(vram->res));
		KUNIT_FAIL_AND_ABORT(test, "memremap_pages: %ld", PTR_ERR(addr));
	}

	vram->pfn_first = PHYS_PFN(vram->res->start);
	vram->npages = resource_size(vram->res) >> PAGE_SHIFT;
	vram->used = bitmap_zalloc(vram->npages, GFP_KERNEL);
	vram->backing = kvcalloc(vram->npages, sizeof(*vram->backing),
				 GFP_KERNEL);
	KUNIT_ASSERT_EQ(test, drm_pagemap_init(&vram->dpagemap, &vram->pagemap,
					       dev, &test_vram_pagemap_ops), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, test_vram_release,
							vram), 0);
	KUNIT_ASSERT_NOT_NULL(test, vram->used);
	KUNIT_ASSERT_NOT_NULL(test, vram->backing);
	return vram;
}

/**
 * test_vram_create_sized() - Create an emulated device memory region
 * @test: The KUnit case.
 * @owner: The device-private page owner of the region.
 * @size: Size of the region in bytes, a multiple of the memory section
 *	size.
 *
 * Returns: The region (the case is aborted on failure); torn down with the
 * case.
 */
struct test_vram *test_vram_create_sized(struct kunit *test, void *owner,
					 unsigned long size)
{
	return test_vram_create_on(test, owner, size, NULL);
}

/**
 * test_vram_create() - Create an emulated device memory region of 16M
 * @test: The KUnit case.
 * @owner: The device-private page owner of the region.
 *
 * Returns: The region (the case is aborted on failure); torn down with the
 * case.
 */
struct test_vram *test_vram_create(struct kunit *test, void *owner)
{
	return test_vram_create_sized(test, owner, SZ_16M);
}
