// SPDX-License-Identifier: GPL-2.0-only
/*
 * The emulated VRAM of vsvm: device-private pages backed by system pages,
 * allocated with the GPU buddy allocator and evicted least recently used
 * first when full.
 */

#include <linux/dma-direct.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <drm/drm_print.h>

#include "vsvm_drv.h"

/* How many allocations one VRAM allocation evicts before it gives up. */
#define VSVM_EVICT_TRIES	64

static struct vsvm_device *vsvm_vram_to_vdev(struct vsvm_vram *vram)
{
	return container_of(vram, struct vsvm_device, vram);
}

static struct vsvm_vram *vsvm_page_to_vram(struct page *page)
{
	return container_of(page->pgmap, struct vsvm_vram, pagemap);
}

static unsigned long vsvm_page_index(struct vsvm_vram *vram,
				     struct page *page)
{
	return page_to_pfn(page) - vram->pfn_first;
}

/**
 * vsvm_translate() - Translate a device address of a system page
 * @vdev: The device.
 * @addr: The address the device uses (an IOVA behind an IOMMU).
 *
 * What the device's DMA sees: through its IOMMU domain when it has one.
 *
 * Returns: The physical address, or 0 if @addr does not translate.
 */
phys_addr_t vsvm_translate(struct vsvm_device *vdev, dma_addr_t addr)
{
	if (vdev->domain)
		return iommu_iova_to_phys(vdev->domain, addr);
	return dma_to_phys(vdev->drm.dev, addr);
}

/**
 * vsvm_vram_backing() - The system page behind a VRAM offset
 * @vram: The VRAM (of the device or of a peer).
 * @offset: Offset in VRAM of a page handed out.
 *
 * Returns: The backing page, or NULL if the offset is not in use.
 */
struct page *vsvm_vram_backing(struct vsvm_vram *vram, dma_addr_t offset)
{
	unsigned long index = offset >> PAGE_SHIFT;
	struct page *page = NULL;

	if (index >= vram->npages)
		return NULL;
	spin_lock(&vram->lock);
	page = vram->pages[index].backing;
	spin_unlock(&vram->lock);
	return page;
}

static struct vsvm_alloc *to_vsvm_alloc(struct drm_pagemap_devmem *devmem)
{
	return container_of(devmem, struct vsvm_alloc, devmem);
}

static void vsvm_alloc_free(struct kref *ref)
{
	kfree(container_of(ref, struct vsvm_alloc, ref));
}

/**
 * vsvm_vram_alloc_put() - Drop a reference to an allocation
 * @alloc: The allocation.
 */
void vsvm_vram_alloc_put(struct vsvm_alloc *alloc)
{
	kref_put(&alloc->ref, vsvm_alloc_free);
}

/* Device pages in block order: the pfns of the allocation's pages. */
static void vsvm_alloc_pfns(struct vsvm_alloc *alloc, unsigned long *pfn)
{
	struct vsvm_vram *vram = alloc->vram;
	struct gpu_buddy_block *block;
	unsigned long i = 0, first, n, j;

	list_for_each_entry(block, &alloc->blocks, link) {
		first = gpu_buddy_block_offset(block) >> PAGE_SHIFT;
		n = gpu_buddy_block_size(&vram->buddy, block) >> PAGE_SHIFT;
		for (j = 0; j < n && i < alloc->npages; j++)
			pfn[i++] = vram->pfn_first + first + j;
	}
}

/* gpusvm-doc: devmem-ops */
static int vsvm_populate_devmem_pfn(struct drm_pagemap_devmem *devmem,
				    unsigned long npages, unsigned long *pfn)
{
	struct vsvm_alloc *alloc = to_vsvm_alloc(devmem);
	struct vsvm_vram *vram = alloc->vram;
	struct page **pages;
	unsigned long i;
	int err = 0;

	if (WARN_ON_ONCE(npages > alloc->npages))
		return -EINVAL;
	vsvm_alloc_pfns(alloc, pfn);
	if (alloc->populated)
		return 0;

	/* First call, from the migration: back each device page. */
	pages = kvcalloc(alloc->npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < alloc->npages; i++) {
		pages[i] = alloc_page(GFP_HIGHUSER);
		if (!pages[i]) {
			err = -ENOMEM;
			goto out;
		}
	}

	spin_lock(&vram->lock);
	for (i = 0; i < alloc->npages; i++) {
		struct vsvm_vram_page *vp =
			&vram->pages[pfn[i] - vram->pfn_first];

		vp->backing = pages[i];
		vp->alloc = alloc;
		pages[i] = NULL;
	}
	alloc->populated = true;
	list_add_tail(&alloc->lru_link, &vram->lru);
	spin_unlock(&vram->lock);
out:
	for (i = 0; i < alloc->npages; i++)
		if (pages[i])
			__free_page(pages[i]);
	kvfree(pages);
	return err;
}

/* No device page of the allocation is left; maybe in atomic context. */
static void vsvm_devmem_release(struct drm_pagemap_devmem *devmem)
{
	struct vsvm_alloc *alloc = to_vsvm_alloc(devmem);
	struct vsvm_vram *vram = alloc->vram;

	spin_lock(&vram->lock);
	list_del_init(&alloc->lru_link);
	spin_unlock(&vram->lock);
	llist_add(&alloc->release_node, &vram->release_list);
	schedule_work(&vram->release_work);
}

/* Give the VRAM of released allocations back to the buddy allocator. */
static void vsvm_vram_release_work(struct work_struct *work)
{
	struct vsvm_vram *vram = container_of(work, struct vsvm_vram,
					      release_work);
	struct vsvm_alloc *alloc, *next;
	struct gpu_buddy_block *block;
	struct vsvm_vram_page *vp;
	struct llist_node *list;
	unsigned long first, n, i;
	struct page *page;

	list = llist_del_all(&vram->release_list);
	llist_for_each_entry_safe(alloc, next, list, release_node) {
		list_for_each_entry(block, &alloc->blocks, link) {
			first = gpu_buddy_block_offset(block) >> PAGE_SHIFT;
			n = gpu_buddy_block_size(&vram->buddy, block) >>
			    PAGE_SHIFT;
			for (i = 0; alloc->populated && i < n; i++) {
				vp = &vram->pages[first + i];
				spin_lock(&vram->lock);
				page = vp->backing;
				vp->backing = NULL;
				vp->alloc = NULL;
				spin_unlock(&vram->lock);
				if (page)
					__free_page(page);
			}
		}

		mutex_lock(&vram->buddy_lock);
		gpu_buddy_free_list(&vram->buddy, &alloc->blocks, 0);
		mutex_unlock(&vram->buddy_lock);
		atomic64_sub(alloc->npages, &vram->pages_used);
		vsvm_vram_alloc_put(alloc);
	}
}

/*
 * The copy engine: device pages on one side, system pages reached through
 * the device's IOMMU on the other, as a DMA engine would.
 */
static int vsvm_copy(struct page **pages,
		     struct drm_pagemap_addr *pagemap_addr,
		     unsigned long npages, bool to_ram)
{
	struct vsvm_vram *vram = NULL;
	struct vsvm_device *vdev;
	unsigned long i, copied = 0;
	struct page *backing;
	phys_addr_t phys;

	for (i = 0; i < npages && !vram; i++)
		if (pages[i])
			vram = vsvm_page_to_vram(pages[i]);
	if (!vram)
		return 0;
	vdev = vsvm_vram_to_vdev(vram);

	for (i = 0; i < npages; i++) {
		if (!pages[i])
			continue;
		phys = vsvm_translate(vdev, pagemap_addr[i].addr);
		backing = vram->pages[vsvm_page_index(vram, pages[i])].backing;
		if (!phys || !backing) {
			atomic64_inc(&vdev->stats.iommu_faults);
			drm_err_ratelimited(&vdev->drm,
					    "copy: %pad does not translate\n",
					    &pagemap_addr[i].addr);
			return -EIO;
		}
		if (to_ram)
			copy_highpage(pfn_to_page(PHYS_PFN(phys)), backing);
		else
			copy_highpage(backing, pfn_to_page(PHYS_PFN(phys)));
		copied++;
	}

	if (to_ram) {
		atomic64_inc(&vdev->stats.migrations_to_ram);
		atomic64_add(copied << PAGE_SHIFT, &vdev->stats.bytes_to_ram);
	} else {
		atomic64_add(copied << PAGE_SHIFT, &vdev->stats.bytes_to_vram);
	}
	return 0;
}

static int vsvm_copy_to_devmem(struct page **pages,
			       struct drm_pagemap_addr *pagemap_addr,
			       unsigned long npages)
{
	return vsvm_copy(pages, pagemap_addr, npages, false);
}

static int vsvm_copy_to_ram(struct page **pages,
			    struct drm_pagemap_addr *pagemap_addr,
			    unsigned long npages)
{
	return vsvm_copy(pages, pagemap_addr, npages, true);
}

static const struct drm_pagemap_devmem_ops vsvm_devmem_ops = {
	.devmem_release = vsvm_devmem_release,
	.populate_devmem_pfn = vsvm_populate_devmem_pfn,
	.copy_to_devmem = vsvm_copy_to_devmem,
	.copy_to_ram = vsvm_copy_to_ram,
};

/* gpusvm-doc: end devmem-ops */

/*
 * The GPU reaches VRAM by offset: its own, or a peer's of its owner group
 * (the helpers only hand a device the pages of its owner).
 */
static struct drm_pagemap_addr
vsvm_device_map(struct drm_pagemap *dpagemap, struct device *dev,
		struct page *page, unsigned int order,
		enum dma_data_direction dir)
{
	struct vsvm_vram *vram = vsvm_page_to_vram(page);
	dma_addr_t addr = (dma_addr_t)vsvm_page_index(vram, page) << PAGE_SHIFT;
	struct vsvm_alloc *alloc;

	/* Mapped by a GPU: the allocation was used just now. */
	spin_lock(&vram->lock);
	alloc = vram->pages[vsvm_page_index(vram, page)].alloc;
	if (alloc && !list_empty(&alloc->lru_link))
		list_move_tail(&alloc->lru_link, &vram->lru);
	spin_unlock(&vram->lock);
	return drm_pagemap_addr_encode(addr, DRM_INTERCONNECT_DRIVER, order,
				       dir);
}

static void vsvm_device_unmap(struct drm_pagemap *dpagemap,
			      struct device *dev, struct drm_pagemap_addr addr)
{
}

static const struct drm_pagemap_ops vsvm_pagemap_ops = {
	.device_map = vsvm_device_map,
	.device_unmap = vsvm_device_unmap,
};

/* Take the least recently used allocation off the LRU, referenced. */
static struct vsvm_alloc *vsvm_vram_lru_pop(struct vsvm_vram *vram)
{
	struct vsvm_alloc *alloc;

	spin_lock(&vram->lock);
	alloc = list_first_entry_or_null(&vram->lru, struct vsvm_alloc,
					 lru_link);
	if (alloc) {
		list_del_init(&alloc->lru_link);
		kref_get(&alloc->ref);
	}
	spin_unlock(&vram->lock);
	return alloc;
}

/* Make room: evict the least recently used allocation. */
static int vsvm_vram_evict_one(struct vsvm_device *vdev)
{
	struct vsvm_vram *vram = &vdev->vram;
	struct vsvm_alloc *victim;
	int err;

	victim = vsvm_vram_lru_pop(vram);
	if (!victim) {
		/* Released allocations may still hold their VRAM. */
		if (llist_empty(&vram->release_list))
			return -ENOSPC;
		flush_work(&vram->release_work);
		return 0;
	}

	err = drm_pagemap_evict_to_ram(&victim->devmem);
	atomic64_inc(&vdev->stats.evictions);
	if (err) {
		/* Busy: back to the tail, unless released meanwhile. */
		spin_lock(&vram->lock);
		if (!completion_done(&victim->devmem.detached))
			list_add_tail(&victim->lru_link, &vram->lru);
		spin_unlock(&vram->lock);
	}
	vsvm_vram_alloc_put(victim);
	flush_work(&vram->release_work);
	return 0;
}

/**
 * vsvm_vram_alloc() - Allocate VRAM for a migration
 * @vdev: The device.
 * @mm: The mm whose pages will move in.
 * @size: Size in bytes, page aligned.
 *
 * Reserves the VRAM now, evicting the least recently used allocations if it
 * is full, so that the migration itself never waits for an eviction. Call
 * without the mmap lock.
 *
 * Returns: The allocation, ready for drm_pagemap_migrate_to_devmem(), or an
 * ERR_PTR(): -ENOSPC when nothing more can be evicted, -ENOMEM.
 */
struct vsvm_alloc *vsvm_vram_alloc(struct vsvm_device *vdev,
				   struct mm_struct *mm, unsigned long size)
{
	struct vsvm_vram *vram = &vdev->vram;
	struct vsvm_alloc *alloc;
	int tries, err;

	if (!vram->npages)
		return ERR_PTR(-ENOSPC);

	alloc = kzalloc(sizeof(*alloc), GFP_KERNEL);
	if (!alloc)
		return ERR_PTR(-ENOMEM);
	alloc->vram = vram;
	alloc->npages = size >> PAGE_SHIFT;
	kref_init(&alloc->ref);
	INIT_LIST_HEAD(&alloc->blocks);
	INIT_LIST_HEAD(&alloc->lru_link);

	for (tries = 0; tries < VSVM_EVICT_TRIES; tries++) {
		mutex_lock(&vram->buddy_lock);
		err = gpu_buddy_alloc_blocks(&vram->buddy, 0,
					     (u64)vram->npages << PAGE_SHIFT,
					     size, PAGE_SIZE, &alloc->blocks,
					     0);
		mutex_unlock(&vram->buddy_lock);
		if (err != -ENOSPC)
			break;
		err = vsvm_vram_evict_one(vdev);
		if (err)
			break;
		err = -ENOSPC;
	}
	if (err) {
		kfree(alloc);
		return ERR_PTR(err);
	}

	atomic64_add(alloc->npages, &vram->pages_used);
	drm_pagemap_devmem_init(&alloc->devmem, vdev->drm.dev, mm,
				&vsvm_devmem_ops, &vram->dpagemap, size);
	return alloc;
}

/**
 * vsvm_vram_init() - Set up the emulated VRAM of a device
 * @vdev: The device.
 * @size: Bytes of VRAM, page aligned (0: none).
 *
 * Returns: 0 or a negative error code.
 */
int vsvm_vram_init(struct vsvm_device *vdev, unsigned long size)
{
	struct vsvm_vram *vram = &vdev->vram;
	struct device *dev = vdev->drm.dev;
	struct resource *res;
	void *addr;
	int err;

	mutex_init(&vram->buddy_lock);
	spin_lock_init(&vram->lock);
	INIT_LIST_HEAD(&vram->lru);
	init_llist_head(&vram->release_list);
	INIT_WORK(&vram->release_work, vsvm_vram_release_work);
	if (!size)
		return 0;

	res = devm_request_free_mem_region(dev, &iomem_resource, size);
	if (IS_ERR(res))
		return PTR_ERR(res);
	vram->pagemap.type = MEMORY_DEVICE_PRIVATE;
	vram->pagemap.range.start = res->start;
	vram->pagemap.range.end = res->end;
	vram->pagemap.nr_range = 1;
	vram->pagemap.ops = drm_pagemap_pagemap_ops_get();
	vram->pagemap.owner = vdev->owner;
	vram->pfn_first = PHYS_PFN(res->start);
	vram->npages = size >> PAGE_SHIFT;

	vram->pages = kvcalloc(vram->npages, sizeof(*vram->pages), GFP_KERNEL);
	if (!vram->pages)
		return -ENOMEM;
	err = gpu_buddy_init(&vram->buddy, size, PAGE_SIZE);
	if (err)
		goto free_backing;

	addr = memremap_pages(&vram->pagemap, dev_to_node(dev));
	if (IS_ERR(addr)) {
		err = PTR_ERR(addr);
		goto fini_buddy;
	}
	err = drm_pagemap_init(&vram->dpagemap, &vram->pagemap, dev,
			       &vsvm_pagemap_ops);
	if (err)
		goto unmap;
	return 0;

unmap:
	memunmap_pages(&vram->pagemap);
fini_buddy:
	gpu_buddy_fini(&vram->buddy);
free_backing:
	kvfree(vram->pages);
	vram->npages = 0;
	return err;
}

/**
 * vsvm_vram_fini() - Evict everything and tear the VRAM down
 * @vdev: The device, unplugged: no new migration starts.
 *
 * Every allocation still resident is evicted with the eviction that cannot
 * fail; memunmap_pages() then waits for the last device page.
 */
void vsvm_vram_fini(struct vsvm_device *vdev)
{
	struct vsvm_vram *vram = &vdev->vram;
	struct vsvm_alloc *alloc;

	if (!vram->npages)
		return;

	while ((alloc = vsvm_vram_lru_pop(vram))) {
		drm_pagemap_evict_to_ram_nofail(&alloc->devmem);
		atomic64_inc(&vdev->stats.evictions);
		wait_for_completion(&alloc->devmem.detached);
		vsvm_vram_alloc_put(alloc);
	}
	memunmap_pages(&vram->pagemap);
	flush_work(&vram->release_work);
	drm_pagemap_put(&vram->dpagemap);
	gpu_buddy_fini(&vram->buddy);
	kvfree(vram->pages);
	vram->npages = 0;
}
