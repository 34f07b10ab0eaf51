// SPDX-License-Identifier: GPL-2.0-only
/*
 * The HMM mirror test device of lib/test_hmm.c, implemented on the GPU SVM
 * helpers: /dev/hmm_dmirror0 and /dev/hmm_dmirror1 with the uAPI of
 * lib/test_hmm_uapi.h, so that the kernel's own hmm-tests
 * (tools/testing/selftests/mm/hmm-tests.c) run unchanged against drm_gpusvm
 * and drm_pagemap.
 *
 * Each open file is one GPU VM (one &struct drm_gpusvm) mirroring the
 * opener's mm. The "GPU" is the CPU reading and writing through the VM's page
 * table, an xarray of the pages the DMA addresses of the helpers' ranges
 * resolve to, filled under the notifier lock and zapped by the invalidation
 * callback. Each device has its own emulated VRAM: device-private pages
 * backed by system pages, with its own device-private owner.
 *
 *  - READ and WRITE fault ranges in with drm_gpusvm_range_find_or_insert()
 *    and drm_gpusvm_range_get_pages(), then copy through the page table.
 *  - MIGRATE_TO_DEV moves each VMA's part of the span with
 *    drm_pagemap_migrate_to_devmem(), timeslice 0, once: a page the other
 *    device holds stays there and the call fails with -ENOENT, as test_hmm's.
 *  - MIGRATE_TO_SYS and RELEASE evict allocations with
 *    drm_pagemap_evict_to_ram().
 *  - SNAPSHOT (a per-page query that faults nothing in) and EXCLUSIVE
 *    (device-exclusive entries) have no counterpart in the helpers: they use
 *    hmm_range_fault() and make_device_exclusive_range() directly, the way
 *    lib/test_hmm.c does.
 *
 * Error codes are those of lib/test_hmm.c, which the tests read. Where the
 * helpers work otherwise, so does the device, and a test could see it:
 *  - a migration is all or nothing per VMA: if one page of it cannot be
 *    collected, none moves (test_hmm moves the others);
 *  - MIGRATE_TO_SYS evicts whole allocations, also their pages outside the
 *    span;
 *  - closing the file leaves the pages in VRAM (they belong to the mm; the
 *    CPU faults them back), where test_hmm evicts the device;
 *  - READ maps pages read-only, so a WRITE after it faults once more;
 *  - VRAM is vram_mb per device and is not grown nor evicted for a
 *    migration: a full VRAM fails it with -ENOMEM.
 */

#include <linux/cdev.h>
/* dma_to_phys(): the device reaches system pages by direct DMA only. */
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/llist.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/swiotlb.h>
#include <linux/vmalloc.h>

#include <drm/drm_drv.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

#include "test_hmm_uapi.h"

#define DMIRROR_NDEVICES	2
/* Pages per step of SNAPSHOT and EXCLUSIVE, as in lib/test_hmm.c. */
#define DMIRROR_STEP_PAGES	64
/* Passes of one range's fault loop before it gives up with the last error. */
#define DMIRROR_FAULT_TRIES	16

/* Page-table entry tags; 2 is the xarray's own. */
#define DMIRROR_PT_ATOMIC	1UL
#define DMIRROR_PT_WRITE	3UL

static unsigned int vram_mb = 64;
module_param(vram_mb, uint, 0444);
MODULE_PARM_DESC(vram_mb, "Emulated VRAM of each device in MiB (default 64)");

static const unsigned long dmirror_chunk_sizes[] = { SZ_2M, SZ_64K, SZ_4K };

/**
 * struct dmirror_device - One mirror device and its emulated VRAM
 */
struct dmirror_device {
	/** @pdev: The platform device that DMA-maps system pages. */
	struct platform_device *pdev;
	/** @drm: The DRM device of the GPU SVM instances. */
	struct drm_device *drm;
	/** @cdev: The character device, /dev/hmm_dmirror<id>. */
	struct cdev cdev;
	/** @device: The device of @cdev. */
	struct device device;
	/** @pagemap: The device-private pages; @pagemap.owner is the device. */
	struct dev_pagemap pagemap;
	/** @dpagemap: The helpers' region of @pagemap. */
	struct drm_pagemap dpagemap;
	/** @pfn_first: First pfn of @pagemap. */
	unsigned long pfn_first;
	/** @npages: Number of device pages. */
	unsigned long npages;
	/** @lock: Protects @used, @backing and @alloc_of. */
	spinlock_t lock;
	/** @used: Bitmap of the device pages handed out. */
	unsigned long *used;
	/** @backing: The system page holding each device page's data. */
	struct page **backing;
	/** @alloc_of: The allocation each device page belongs to. */
	struct dmirror_alloc **alloc_of;
	/** @release_list: Released allocations, freed by @release_work. */
	struct llist_head release_list;
	/** @release_work: Frees released allocations in process context. */
	struct work_struct release_work;
};

/**
 * struct dmirror_alloc - One VRAM allocation of a migration
 */
struct dmirror_alloc {
	/** @devmem: The helpers' allocation. */
	struct drm_pagemap_devmem devmem;
	/** @mdevice: The device. */
	struct dmirror_device *mdevice;
	/**
	 * @ref: The allocation's own reference, dropped once it is released
	 * and its VRAM given back, and those of evictions in progress.
	 */
	struct kref ref;
	/** @release_node: Entry in &dmirror_device.release_list. */
	struct llist_node release_node;
	/** @populated: The device pages have backing pages. */
	bool populated;
	/** @npages: Number of device pages. */
	unsigned long npages;
	/** @pfns: The device pfns, in allocation order. */
	unsigned long pfns[];
};

/**
 * struct dmirror - One open file: a GPU VM mirroring the opener's mm
 */
struct dmirror {
	/** @mdevice: The device. */
	struct dmirror_device *mdevice;
	/** @gpusvm: The helpers' instance. */
	struct drm_gpusvm gpusvm;
	/** @lock: The driver lock of @gpusvm. */
	struct mutex lock;
	/**
	 * @pt: The page table: virtual pfn to the page the device accesses,
	 * tagged with its access. Filled under @lock and the notifier lock
	 * held for write, zapped by the invalidation callback (notifier lock
	 * held for write), read under the notifier lock.
	 */
	struct xarray pt;
	/**
	 * @exclusive_seq: Counts the invalidations of [@exclusive_start,
	 * @exclusive_end) other than %MMU_NOTIFY_EXCLUSIVE ones; under the
	 * notifier lock.
	 */
	unsigned long exclusive_seq;
	/** @exclusive_start: Start of the span EXCLUSIVE is mapping. */
	unsigned long exclusive_start;
	/** @exclusive_end: End of the span EXCLUSIVE is mapping. */
	unsigned long exclusive_end;
	/**
	 * @snapshot_lock: Held by SNAPSHOT while it reads a result, and by
	 * the invalidation of its temporary notifier.
	 */
	struct mutex snapshot_lock;
	/** @gc_lock: Protects @gc_list and &dmirror_range.removed. */
	spinlock_t gc_lock;
	/** @gc_list: Ranges the CPU unmapped, to remove. */
	struct list_head gc_list;
};

/**
 * struct dmirror_range - A range with its garbage-collector state
 */
struct dmirror_range {
	/** @base: The helpers' range. */
	struct drm_gpusvm_range base;
	/** @gc_link: Entry in &dmirror.gc_list. */
	struct list_head gc_link;
	/** @removed: Taken by the garbage collector or removed. */
	bool removed;
};

/*
 * SNAPSHOT's temporary interval notifier: any invalidation of the span
 * invalidates the whole snapshot.
 */
struct dmirror_interval {
	struct mmu_interval_notifier notifier;
	struct dmirror *dmirror;
};

static struct dmirror_device dmirror_devices[DMIRROR_NDEVICES];
static dev_t dmirror_dev;

static struct dmirror *to_dmirror(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct dmirror, gpusvm);
}

static struct dmirror_range *to_dmirror_range(struct drm_gpusvm_range *range)
{
	return container_of(range, struct dmirror_range, base);
}

static struct dmirror_alloc *to_dmirror_alloc(struct drm_pagemap_devmem *devmem)
{
	return container_of(devmem, struct dmirror_alloc, devmem);
}

static struct dmirror_device *dmirror_page_to_device(struct page *page)
{
	return container_of(page->pgmap, struct dmirror_device, pagemap);
}

static unsigned long dmirror_page_index(struct page *page)
{
	return page_to_pfn(page) - dmirror_page_to_device(page)->pfn_first;
}

/* The system page behind the device page at @index, or NULL. */
static struct page *dmirror_backing(struct dmirror_device *mdevice,
				    unsigned long index)
{
	struct page *page = NULL;

	spin_lock(&mdevice->lock);
	if (index < mdevice->npages)
		page = mdevice->backing[index];
	spin_unlock(&mdevice->lock);
	return page;
}

/* The system page a DMA address of the device's dma-direct mapping is. */
static struct page *dmirror_dma_to_page(struct device *dev, dma_addr_t addr)
{
	return pfn_to_page(PHYS_PFN(dma_to_phys(dev, addr)));
}

/* VRAM ------------------------------------------------------------------ */

static void dmirror_alloc_free(struct kref *ref)
{
	kvfree(container_of(ref, struct dmirror_alloc, ref));
}

static void dmirror_alloc_put(struct dmirror_alloc *alloc)
{
	kref_put(&alloc->ref, dmirror_alloc_free);
}

static int dmirror_populate_devmem_pfn(struct drm_pagemap_devmem *devmem,
				       unsigned long npages, unsigned long *pfn)
{
	struct dmirror_alloc *alloc = to_dmirror_alloc(devmem);
	struct dmirror_device *mdevice = alloc->mdevice;
	struct page **pages;
	unsigned long i;
	int err = 0;

	if (WARN_ON_ONCE(npages > alloc->npages))
		return -EINVAL;
	memcpy(pfn, alloc->pfns, npages * sizeof(*pfn));
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
	spin_lock(&mdevice->lock);
	for (i = 0; i < alloc->npages; i++) {
		unsigned long index = alloc->pfns[i] - mdevice->pfn_first;

		mdevice->backing[index] = pages[i];
		mdevice->alloc_of[index] = alloc;
		pages[i] = NULL;
	}
	alloc->populated = true;
	spin_unlock(&mdevice->lock);
out:
	for (i = 0; i < alloc->npages; i++)
		if (pages[i])
			__free_page(pages[i]);
	kvfree(pages);
	return err;
}

/* No device page of the allocation is left; maybe in atomic context. */
static void dmirror_devmem_release(struct drm_pagemap_devmem *devmem)
{
	struct dmirror_alloc *alloc = to_dmirror_alloc(devmem);
	struct dmirror_device *mdevice = alloc->mdevice;

	llist_add(&alloc->release_node, &mdevice->release_list);
	schedule_work(&mdevice->release_work);
}

static void dmirror_release_work(struct work_struct *work)
{
	struct dmirror_device *mdevice =
		container_of(work, struct dmirror_device, release_work);
	struct dmirror_alloc *alloc, *next;
	struct llist_node *list;
	struct page *page;
	unsigned long i, index;

	list = llist_del_all(&mdevice->release_list);
	llist_for_each_entry_safe(alloc, next, list, release_node) {
		for (i = 0; i < alloc->npages; i++) {
			index = alloc->pfns[i] - mdevice->pfn_first;
			spin_lock(&mdevice->lock);
			page = mdevice->backing[index];
			mdevice->backing[index] = NULL;
			mdevice->alloc_of[index] = NULL;
			clear_bit(index, mdevice->used);
			spin_unlock(&mdevice->lock);
			if (page)
				__free_page(page);
		}
		dmirror_alloc_put(alloc);
	}
}

static int dmirror_copy(struct page **pages,
			struct drm_pagemap_addr *pagemap_addr,
			unsigned long npages, bool to_ram)
{
	struct dmirror_device *mdevice;
	struct page *backing, *page;
	unsigned long i;

	for (i = 0; i < npages; i++) {
		if (!pages[i])
			continue;
		mdevice = dmirror_page_to_device(pages[i]);
		backing = dmirror_backing(mdevice,
					  dmirror_page_index(pages[i]));
		if (WARN_ON_ONCE(!backing))
			return -EIO;
		page = dmirror_dma_to_page(&mdevice->pdev->dev,
					   pagemap_addr[i].addr);
		if (to_ram)
			copy_highpage(page, backing);
		else
			copy_highpage(backing, page);
	}
	return 0;
}

static int dmirror_copy_to_devmem(struct page **pages,
				  struct drm_pagemap_addr *pagemap_addr,
				  unsigned long npages)
{
	return dmirror_copy(pages, pagemap_addr, npages, false);
}

static int dmirror_copy_to_ram(struct page **pages,
			       struct drm_pagemap_addr *pagemap_addr,
			       unsigned long npages)
{
	return dmirror_copy(pages, pagemap_addr, npages, true);
}

static const struct drm_pagemap_devmem_ops dmirror_devmem_ops = {
	.devmem_release = dmirror_devmem_release,
	.populate_devmem_pfn = dmirror_populate_devmem_pfn,
	.copy_to_devmem = dmirror_copy_to_devmem,
	.copy_to_ram = dmirror_copy_to_ram,
};

/* The device reaches its VRAM by page index. */
static struct drm_pagemap_addr
dmirror_device_map(struct drm_pagemap *dpagemap, struct device *dev,
		   struct page *page, unsigned int order,
		   enum dma_data_direction dir)
{
	return drm_pagemap_addr_encode((dma_addr_t)dmirror_page_index(page) <<
				       PAGE_SHIFT, DRM_INTERCONNECT_DRIVER,
				       order, dir);
}

static void dmirror_device_unmap(struct drm_pagemap *dpagemap,
				 struct device *dev,
				 struct drm_pagemap_addr addr)
{
}

static const struct drm_pagemap_ops dmirror_pagemap_ops = {
	.device_map = dmirror_device_map,
	.device_unmap = dmirror_device_unmap,
};

/*
 * Reserve @size bytes of VRAM for a migration of @mm's pages. Never evicts:
 * a full VRAM fails the migration.
 */
static struct dmirror_alloc *dmirror_alloc(struct dmirror_device *mdevice,
					   struct mm_struct *mm,
					   unsigned long size)
{
	unsigned long i, index = 0, npages = size >> PAGE_SHIFT;
	struct dmirror_alloc *alloc;

	if (npages > mdevice->npages)
		return ERR_PTR(-ENOMEM);
	alloc = kvzalloc(struct_size(alloc, pfns, npages), GFP_KERNEL);
	if (!alloc)
		return ERR_PTR(-ENOMEM);
	alloc->mdevice = mdevice;
	alloc->npages = npages;
	kref_init(&alloc->ref);

	spin_lock(&mdevice->lock);
	for (i = 0; i < npages; i++, index++) {
		index = find_next_zero_bit(mdevice->used, mdevice->npages,
					   index);
		if (index >= mdevice->npages)
			break;
		set_bit(index, mdevice->used);
		alloc->pfns[i] = mdevice->pfn_first + index;
	}
	if (i < npages) {
		while (i--)
			clear_bit(alloc->pfns[i] - mdevice->pfn_first,
				  mdevice->used);
		spin_unlock(&mdevice->lock);
		kvfree(alloc);
		return ERR_PTR(-ENOMEM);
	}
	spin_unlock(&mdevice->lock);

	drm_pagemap_devmem_init(&alloc->devmem, &mdevice->pdev->dev, mm,
				&dmirror_devmem_ops, &mdevice->dpagemap, size);
	return alloc;
}

/* Take a reference to the allocation of the device page at @index. */
static struct dmirror_alloc *dmirror_alloc_get(struct dmirror_device *mdevice,
					       unsigned long index)
{
	struct dmirror_alloc *alloc;

	spin_lock(&mdevice->lock);
	alloc = mdevice->alloc_of[index];
	if (alloc)
		kref_get(&alloc->ref);
	spin_unlock(&mdevice->lock);
	return alloc;
}

/*
 * RELEASE and unload: every page of the device back to system memory,
 * allocation by allocation as their pages are found. RELEASE, from an
 * ioctl, uses the bounded eviction and returns its first error; unload the
 * one that cannot fail.
 */
static int dmirror_evict_all(struct dmirror_device *mdevice, bool nofail)
{
	struct dmirror_alloc *alloc;
	unsigned long index;
	int err = 0, ret;

	for (index = 0; index < mdevice->npages; index++) {
		alloc = dmirror_alloc_get(mdevice, index);
		if (!alloc)
			continue;
		if (nofail) {
			drm_pagemap_evict_to_ram_nofail(&alloc->devmem);
		} else {
			ret = drm_pagemap_evict_to_ram(&alloc->devmem);
			if (ret && !err)
				err = ret;
		}
		dmirror_alloc_put(alloc);
		cond_resched();
	}
	flush_work(&mdevice->release_work);
	return err;
}

/* The GPU VM ------------------------------------------------------------ */

/*
 * Zap the page-table entries of a whole range, but its exclusive entries
 * with @keep_exclusive; notifier lock held for write.
 */
static void dmirror_zap_range(struct dmirror *dmirror,
			      struct drm_gpusvm_range *range,
			      bool keep_exclusive)
{
	unsigned long first = drm_gpusvm_range_start(range) >> PAGE_SHIFT;
	unsigned long last = (drm_gpusvm_range_end(range) >> PAGE_SHIFT) - 1;
	unsigned long index;
	void *entry;

	lockdep_assert_held_write(&dmirror->gpusvm.notifier_lock);

	xa_for_each_range(&dmirror->pt, index, entry, first, last)
		if (!keep_exclusive ||
		    xa_pointer_tag(entry) != DMIRROR_PT_ATOMIC)
			xa_erase(&dmirror->pt, index);
}

static struct drm_gpusvm_range *dmirror_range_alloc(struct drm_gpusvm *gpusvm)
{
	struct dmirror_range *drange;

	drange = kzalloc(sizeof(*drange), GFP_KERNEL);
	if (!drange)
		return NULL;
	INIT_LIST_HEAD(&drange->gc_link);
	return &drange->base;
}

static void dmirror_range_free(struct drm_gpusvm_range *range)
{
	kfree(to_dmirror_range(range));
}

static void dmirror_queue_gc(struct dmirror *dmirror,
			     struct drm_gpusvm_range *range)
{
	struct dmirror_range *drange = to_dmirror_range(range);

	spin_lock(&dmirror->gc_lock);
	if (!drange->removed && list_empty(&drange->gc_link)) {
		drm_gpusvm_range_get(range);
		list_add_tail(&drange->gc_link, &dmirror->gc_list);
	}
	spin_unlock(&dmirror->gc_lock);
}

static void dmirror_invalidate(struct drm_gpusvm *gpusvm,
			       struct drm_gpusvm_notifier *notifier,
			       const struct mmu_notifier_range *mmu_range)
{
	struct dmirror *dmirror = to_dmirror(gpusvm);
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	bool own_exclusive = mmu_range->event == MMU_NOTIFY_EXCLUSIVE &&
			     mmu_range->owner == dmirror;
	struct drm_gpusvm_range *range;

	/*
	 * EXCLUSIVE need not start over for a page made exclusive (by its own
	 * call) or taken back by the CPU (whose fault waits for the page lock
	 * EXCLUSIVE holds until its entries are in): only for the others.
	 */
	if (mmu_range->event != MMU_NOTIFY_EXCLUSIVE &&
	    mmu_range->start < dmirror->exclusive_end &&
	    mmu_range->end > dmirror->exclusive_start)
		dmirror->exclusive_seq++;
	drm_gpusvm_for_each_range(range, notifier, mmu_range->start,
				  mmu_range->end) {
		/*
		 * Its own make_device_exclusive_range() leaves the device's
		 * exclusive entries of other pages alone.
		 */
		dmirror_zap_range(dmirror, range, own_exclusive);
		drm_gpusvm_range_unmap_pages(gpusvm, range, &ctx);
		if (mmu_range->event == MMU_NOTIFY_UNMAP) {
			drm_gpusvm_range_set_unmapped(range, mmu_range);
			dmirror_queue_gc(dmirror, range);
		}
	}
}

static const struct drm_gpusvm_ops dmirror_gpusvm_ops = {
	.range_alloc = dmirror_range_alloc,
	.range_free = dmirror_range_free,
	.invalidate = dmirror_invalidate,
};

static struct dmirror_range *dmirror_gc_pop(struct dmirror *dmirror)
{
	struct dmirror_range *drange;

	spin_lock(&dmirror->gc_lock);
	drange = list_first_entry_or_null(&dmirror->gc_list,
					  struct dmirror_range, gc_link);
	if (drange) {
		list_del_init(&drange->gc_link);
		drange->removed = true;
	}
	spin_unlock(&dmirror->gc_lock);
	return drange;
}

/* Remove the ranges the CPU unmapped; driver lock held. */
static void dmirror_garbage_collect(struct dmirror *dmirror)
{
	struct dmirror_range *drange;

	lockdep_assert_held(&dmirror->lock);

	while ((drange = dmirror_gc_pop(dmirror))) {
		drm_gpusvm_range_remove(&dmirror->gpusvm, &drange->base);
		drm_gpusvm_range_put(&drange->base);
	}
}

/* Zap a range, then let its mapping go: never the other way round. */
static void dmirror_unmap_range(struct dmirror *dmirror,
				struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_ctx ctx = {};

	down_write(&dmirror->gpusvm.notifier_lock);
	dmirror_zap_range(dmirror, range, false);
	up_write(&dmirror->gpusvm.notifier_lock);
	drm_gpusvm_range_unmap_pages(&dmirror->gpusvm, range, &ctx);
}

/* Zap, unmap and remove a range now, unless the collector has it. */
static void dmirror_remove_range(struct dmirror *dmirror,
				 struct drm_gpusvm_range *range)
{
	struct dmirror_range *drange = to_dmirror_range(range);
	bool remove;

	lockdep_assert_held(&dmirror->lock);

	dmirror_unmap_range(dmirror, range);
	spin_lock(&dmirror->gc_lock);
	remove = !drange->removed && list_empty(&drange->gc_link);
	if (remove)
		drange->removed = true;
	spin_unlock(&dmirror->gc_lock);
	if (remove)
		drm_gpusvm_range_remove(&dmirror->gpusvm, range);
}

/* Reserve the page-table slots of a range, so that the commit cannot fail. */
static int dmirror_prepare_commit(struct dmirror *dmirror,
				  struct drm_gpusvm_range *range)
{
	unsigned long index = drm_gpusvm_range_start(range) >> PAGE_SHIFT;
	unsigned long end = drm_gpusvm_range_end(range) >> PAGE_SHIFT;
	int err;

	for (; index < end; index++) {
		err = xa_reserve(&dmirror->pt, index, GFP_KERNEL);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Write the page-table entries of a range from its DMA addresses; driver
 * lock and notifier lock (for write) held, pages valid. System pages are
 * reached through the device's dma-direct addresses, device pages through
 * their VRAM offset; the access follows each entry's direction.
 */
static void dmirror_commit(struct dmirror *dmirror,
			   struct drm_gpusvm_range *range)
{
	struct dmirror_device *mdevice = dmirror->mdevice;
	unsigned long index = drm_gpusvm_range_start(range) >> PAGE_SHIFT;
	unsigned long npages = drm_gpusvm_range_size(range) >> PAGE_SHIFT;
	struct drm_pagemap_addr *addr = range->pages.dma_addr;
	unsigned long i = 0, j, n;
	struct page *page;
	void *entry;

	lockdep_assert_held(&dmirror->lock);
	lockdep_assert_held_write(&dmirror->gpusvm.notifier_lock);

	for (; i < npages; i += n, addr++) {
		n = 1UL << addr->order;
		for (j = 0; j < n && i + j < npages; j++) {
			dma_addr_t a = addr->addr + (j << PAGE_SHIFT);

			if (addr->proto == DRM_INTERCONNECT_SYSTEM)
				page = dmirror_dma_to_page(&mdevice->pdev->dev, a);
			else
				page = dmirror_backing(mdevice, a >> PAGE_SHIFT);
			if (WARN_ON_ONCE(!page))
				continue;
			entry = page;
			if (addr->dir == DMA_BIDIRECTIONAL)
				entry = xa_tag_pointer(entry, DMIRROR_PT_WRITE);
			/* Reserved by dmirror_prepare_commit(). */
			WARN_ON_ONCE(xa_is_err(xa_store(&dmirror->pt,
							index + i + j, entry,
							GFP_NOWAIT)));
		}
	}
}

/*
 * What the CPU allows at @addr, as lib/test_hmm.c reports it: -EFAULT without
 * a readable VMA, -EPERM for a write to a read-only one.
 */
static int dmirror_vma_access(struct mm_struct *mm, unsigned long addr,
			      bool write)
{
	struct vm_area_struct *vma;
	int err = 0;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma || !(vma->vm_flags & VM_READ))
		err = -EFAULT;
	else if (write && !(vma->vm_flags & VM_WRITE))
		err = -EPERM;
	mmap_read_unlock(mm);
	return err;
}

/*
 * Fault in the range at @addr for reading or writing and commit its entries:
 * the helpers' bounded retry loop. Driver lock held. Sets *@next to the
 * range's end.
 */
static int dmirror_fault_range(struct dmirror *dmirror, unsigned long addr,
			       bool write, unsigned long *next)
{
	struct drm_gpusvm *gpusvm = &dmirror->gpusvm;
	struct drm_gpusvm_ctx ctx = {
		.device_private_page_owner = dmirror->mdevice,
		.devmem_possible = true,
		.allow_mixed = true,
		.read_only = !write,
	};
	struct drm_gpusvm_range *range;
	int tries, err = -EAGAIN;

	lockdep_assert_held(&dmirror->lock);

	for (tries = 0; tries < DMIRROR_FAULT_TRIES; tries++) {
		err = dmirror_vma_access(gpusvm->mm, addr, write);
		if (err)
			return err;
		dmirror_garbage_collect(dmirror);

		range = drm_gpusvm_range_find_or_insert(gpusvm, addr, 0,
							gpusvm->mm_range, &ctx);
		if (IS_ERR(range)) {
			err = PTR_ERR(range);
			if (err == -ENOENT || err == -EOPNOTSUPP)
				return -EFAULT;
			if (err == -EFAULT)
				continue;	/* raced with an unmap */
			return err;
		}
		*next = drm_gpusvm_range_end(range);

		err = drm_gpusvm_range_get_pages(gpusvm, range, &ctx);
		if (err == -EEXIST) {
			/* Mapped for another access: zap before it goes. */
			dmirror_unmap_range(dmirror, range);
			continue;
		}
		if (err == -EPERM) {
			/* The range spans memory mprotect()ed since. */
			dmirror_remove_range(dmirror, range);
			continue;
		}
		if (err == -EOPNOTSUPP) {
			/* Pages the device cannot map together. */
			err = drm_gpusvm_range_evict(gpusvm, range);
			if (err && err != -EBUSY)
				return err;
			err = -EAGAIN;
			continue;
		}
		if (!err)
			err = dmirror_prepare_commit(dmirror, range);
		if (err == -EFAULT || err == -EBUSY || err == -EAGAIN)
			continue;	/* unmapped, invalidated or busy: again */
		if (err)
			return err;

		down_write(&gpusvm->notifier_lock);
		if (drm_gpusvm_range_pages_valid(gpusvm, range)) {
			dmirror_commit(dmirror, range);
			err = 0;
		} else {
			err = -EAGAIN;
		}
		up_write(&gpusvm->notifier_lock);
		if (!err)
			return 0;
	}
	return err == -EAGAIN || err == -EOPNOTSUPP ? -EBUSY : err;
}

/* One pass of the fault loop: fault in every range of [@start, @end). */
static int dmirror_fault(struct dmirror *dmirror, unsigned long start,
			 unsigned long end, bool write)
{
	struct mm_struct *mm = dmirror->gpusvm.mm;
	unsigned long addr, next;
	int err = 0;

	if (!mmget_not_zero(mm))
		return -EFAULT;
	mutex_lock(&dmirror->lock);
	for (addr = start; addr < end; addr = next) {
		err = dmirror_fault_range(dmirror, addr, write, &next);
		if (err)
			break;
	}
	mutex_unlock(&dmirror->lock);
	mmput(mm);
	return err;
}

struct dmirror_bounce {
	void *ptr;
	unsigned long size;
	unsigned long addr;
	unsigned long cpages;
};

static int dmirror_bounce_init(struct dmirror_bounce *bounce,
			       unsigned long addr, unsigned long size)
{
	bounce->addr = addr;
	bounce->size = size;
	bounce->cpages = 0;
	bounce->ptr = vmalloc(size);
	return bounce->ptr ? 0 : -ENOMEM;
}

/*
 * Copy [@start, @end) through the page table, from the first page not copied
 * yet; -ENOENT at the first page without an entry for the access.
 */
static int dmirror_copy_pt(struct dmirror *dmirror, unsigned long end,
			   struct dmirror_bounce *bounce, bool write)
{
	unsigned long start = bounce->addr + (bounce->cpages << PAGE_SHIFT);
	unsigned long pfn;
	int err = 0;

	drm_gpusvm_notifier_lock(&dmirror->gpusvm);
	for (pfn = start >> PAGE_SHIFT; pfn < end >> PAGE_SHIFT; pfn++) {
		void *entry = xa_load(&dmirror->pt, pfn);
		struct page *page = xa_untag_pointer(entry);
		void *ptr = bounce->ptr + (bounce->cpages << PAGE_SHIFT);

		if (!page || (write &&
			      xa_pointer_tag(entry) != DMIRROR_PT_WRITE)) {
			err = -ENOENT;
			break;
		}
		if (write)
			memcpy_to_page(page, 0, ptr, PAGE_SIZE);
		else
			memcpy_from_page(ptr, page, 0, PAGE_SIZE);
		bounce->cpages++;
	}
	drm_gpusvm_notifier_unlock(&dmirror->gpusvm);
	return err;
}

/*
 * READ and WRITE: copy through the page table, faulting in from the first
 * page that has no entry. cmd->faults counts the passes that faulted.
 */
static int dmirror_rw(struct dmirror *dmirror, struct hmm_dmirror_cmd *cmd,
		      bool write)
{
	unsigned long start = cmd->addr;
	unsigned long end = start + (cmd->npages << PAGE_SHIFT);
	unsigned long timeout = jiffies +
		msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct dmirror_bounce bounce;
	int err;

	err = dmirror_bounce_init(&bounce, start, end - start);
	if (err)
		return err;
	if (write && copy_from_user(bounce.ptr, u64_to_user_ptr(cmd->ptr),
				    bounce.size)) {
		err = -EFAULT;
		goto out;
	}

	for (;;) {
		err = dmirror_copy_pt(dmirror, end, &bounce, write);
		if (err != -ENOENT)
			break;
		if (time_after(jiffies, timeout)) {
			err = -EBUSY;
			break;
		}
		err = dmirror_fault(dmirror, start + (bounce.cpages << PAGE_SHIFT),
				    end, write);
		if (err)
			break;
		cmd->faults++;
	}

	if (!err && !write &&
	    copy_to_user(u64_to_user_ptr(cmd->ptr), bounce.ptr, bounce.size))
		err = -EFAULT;
out:
	cmd->cpages = bounce.cpages;
	vfree(bounce.ptr);
	return err;
}

/* SNAPSHOT ---------------------------------------------------------------- */

static bool dmirror_snapshot_invalidate(struct mmu_interval_notifier *mni,
					const struct mmu_notifier_range *range,
					unsigned long cur_seq)
{
	struct dmirror *dmirror =
		container_of(mni, struct dmirror_interval, notifier)->dmirror;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&dmirror->snapshot_lock);
	else if (!mutex_trylock(&dmirror->snapshot_lock))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	mutex_unlock(&dmirror->snapshot_lock);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_snapshot_ops = {
	.invalidate = dmirror_snapshot_invalidate,
};

static unsigned char dmirror_mkentry(struct dmirror *dmirror,
				     unsigned long entry)
{
	unsigned char perm;
	struct page *page;

	if (entry & HMM_PFN_ERROR)
		return HMM_DMIRROR_PROT_ERROR;
	if (!(entry & HMM_PFN_VALID))
		return HMM_DMIRROR_PROT_NONE;

	page = hmm_pfn_to_page(entry);
	if (is_device_private_page(page))
		perm = dmirror_page_to_device(page) == dmirror->mdevice ?
			HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL :
			HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
	else if (is_zero_pfn(page_to_pfn(page)))
		perm = HMM_DMIRROR_PROT_ZERO;
	else
		perm = HMM_DMIRROR_PROT_NONE;
	perm |= entry & HMM_PFN_WRITE ? HMM_DMIRROR_PROT_WRITE :
					HMM_DMIRROR_PROT_READ;
	if (hmm_pfn_to_map_order(entry) + PAGE_SHIFT == PMD_SHIFT)
		perm |= HMM_DMIRROR_PROT_PMD;
	else if (hmm_pfn_to_map_order(entry) + PAGE_SHIFT == PUD_SHIFT)
		perm |= HMM_DMIRROR_PROT_PUD;
	return perm;
}

/* The allocation of a page in this device's VRAM, referenced, or NULL. */
static struct dmirror_alloc *dmirror_local_alloc_get(struct dmirror *dmirror,
						     unsigned char perm,
						     unsigned long entry)
{
	if ((perm & 0xf0) != HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL)
		return NULL;
	return dmirror_alloc_get(dmirror->mdevice,
				 dmirror_page_index(hmm_pfn_to_page(entry)));
}

/*
 * What the CPU page table holds for [@start, @end), at most
 * DMIRROR_STEP_PAGES pages, without faulting anything in: hmm_range_fault()
 * without fault flags under a temporary interval notifier. Device pages of
 * this device show as such; those of another owner look not present. With
 * @allocs, also takes a reference to the allocation of each page in this
 * device's VRAM (NULL for other pages).
 */
static int dmirror_snapshot_step(struct dmirror *dmirror, struct mm_struct *mm,
				 unsigned long start, unsigned long end,
				 unsigned char *perm,
				 struct dmirror_alloc **allocs)
{
	unsigned long timeout = jiffies +
		msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long pfns[DMIRROR_STEP_PAGES];
	struct dmirror_interval interval = { .dmirror = dmirror };
	struct hmm_range range = {
		.notifier = &interval.notifier,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.dev_private_owner = dmirror->mdevice,
	};
	unsigned long i;
	int err;

	err = mmu_interval_notifier_insert(&interval.notifier, mm, start,
					   end - start, &dmirror_snapshot_ops);
	if (err)
		return err;
	for (;;) {
		if (time_after(jiffies, timeout)) {
			err = -EBUSY;
			break;
		}
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		mmap_read_lock(mm);
		err = hmm_range_fault(&range);
		mutex_lock(&dmirror->snapshot_lock);
		if (!err && mmu_interval_read_retry(range.notifier,
						    range.notifier_seq))
			err = -EBUSY;
		if (!err) {
			for (i = 0; i < npages; i++)
				perm[i] = dmirror_mkentry(dmirror, pfns[i]);
			for (i = 0; allocs && i < npages; i++)
				allocs[i] = dmirror_local_alloc_get(dmirror,
								    perm[i],
								    pfns[i]);
		}
		mutex_unlock(&dmirror->snapshot_lock);
		mmap_read_unlock(mm);
		if (err != -EBUSY)
			break;
	}
	mmu_interval_notifier_remove(&interval.notifier);
	return err;
}

static int dmirror_snapshot(struct dmirror *dmirror,
			    struct hmm_dmirror_cmd *cmd)
{
	struct mm_struct *mm = dmirror->gpusvm.mm;
	unsigned long start = cmd->addr;
	unsigned long end = start + (cmd->npages << PAGE_SHIFT);
	char __user *uptr = u64_to_user_ptr(cmd->ptr);
	unsigned char perm[DMIRROR_STEP_PAGES];
	unsigned long addr, next, n;
	int err = 0;

	if (!mmget_not_zero(mm))
		return -EINVAL;
	for (addr = start; addr < end; addr = next) {
		next = min(addr + (DMIRROR_STEP_PAGES << PAGE_SHIFT), end);
		err = dmirror_snapshot_step(dmirror, mm, addr, next, perm, NULL);
		if (err)
			break;
		n = (next - addr) >> PAGE_SHIFT;
		if (copy_to_user(uptr, perm, n)) {
			err = -EFAULT;
			break;
		}
		cmd->cpages += n;
		uptr += n;
	}
	mmput(mm);
	return err;
}

/* Whether every page of [@start, @end) is in this device's VRAM. */
static int dmirror_all_local(struct dmirror *dmirror, struct mm_struct *mm,
			     unsigned long start, unsigned long end)
{
	unsigned char perm[DMIRROR_STEP_PAGES];
	unsigned long addr, next, i;
	int err;

	for (addr = start; addr < end; addr = next) {
		next = min(addr + (DMIRROR_STEP_PAGES << PAGE_SHIFT), end);
		err = dmirror_snapshot_step(dmirror, mm, addr, next, perm, NULL);
		if (err)
			return err;
		for (i = 0; i < (next - addr) >> PAGE_SHIFT; i++)
			if ((perm[i] & ~HMM_DMIRROR_PROT_WRITE &
			     ~HMM_DMIRROR_PROT_READ) !=
			    HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL)
				return -ENOENT;
	}
	return 0;
}

/* Migration ---------------------------------------------------------------- */

/*
 * MIGRATE_TO_DEV: move each VMA's part of the span into a VRAM allocation of
 * its own, once, with timeslice 0. The span must be covered by readable
 * VMAs (-EINVAL). The pages that cannot move (shared memory, a page another
 * device holds) make the call fail with -ENOENT once the rest moved; else the
 * device maps the pages through the helpers and returns their data.
 */
static int dmirror_migrate_to_device(struct dmirror *dmirror,
				     struct hmm_dmirror_cmd *cmd)
{
	struct dmirror_device *mdevice = dmirror->mdevice;
	struct mm_struct *mm = dmirror->gpusvm.mm;
	unsigned long start = cmd->addr;
	unsigned long end = start + (cmd->npages << PAGE_SHIFT);
	struct vm_area_struct *vma;
	struct dmirror_alloc *alloc;
	unsigned long addr, next;
	int err = 0;

	if (!mmget_not_zero(mm))
		return -EINVAL;
	for (addr = start; addr < end; addr = next) {
		mmap_read_lock(mm);
		vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & VM_READ)) {
			mmap_read_unlock(mm);
			err = -EINVAL;
			goto out;
		}
		next = min(end, vma->vm_end);
		mmap_read_unlock(mm);

		alloc = dmirror_alloc(mdevice, mm, next - addr);
		if (IS_ERR(alloc)) {
			err = PTR_ERR(alloc);
			goto out;
		}
		mmap_read_lock(mm);
		err = drm_pagemap_migrate_to_devmem(&alloc->devmem, mm, addr,
						    next, 0, mdevice);
		mmap_read_unlock(mm);
		/* What did not move is found below. */
		if (err)
			dev_dbg(&mdevice->device,
				"migration of [%#lx, %#lx): %d\n", addr, next,
				err);
	}
	err = dmirror_all_local(dmirror, mm, start, end);
out:
	mmput(mm);
	if (err)
		return err;

	/* Map the pages and return what the device reads. */
	err = dmirror_rw(dmirror, cmd, false);
	cmd->faults = 0;
	return err;
}

/*
 * MIGRATE_TO_SYS: evict every allocation holding a page of the span in this
 * device's VRAM; cmd->cpages counts those pages. The span must be covered by
 * readable VMAs (-EINVAL).
 */
static int dmirror_migrate_to_system(struct dmirror *dmirror,
				     struct hmm_dmirror_cmd *cmd)
{
	struct mm_struct *mm = dmirror->gpusvm.mm;
	unsigned long start = cmd->addr;
	unsigned long end = start + (cmd->npages << PAGE_SHIFT);
	struct dmirror_alloc *allocs[DMIRROR_STEP_PAGES];
	unsigned char perm[DMIRROR_STEP_PAGES];
	unsigned long addr, next, i;
	struct vm_area_struct *vma;
	int err = 0, ret;

	if (!mmget_not_zero(mm))
		return -EINVAL;
	for (addr = start; addr < end; addr = next) {
		mmap_read_lock(mm);
		vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & VM_READ)) {
			mmap_read_unlock(mm);
			err = -EINVAL;
			break;
		}
		next = min3(end, vma->vm_end,
			    addr + (DMIRROR_STEP_PAGES << PAGE_SHIFT));
		mmap_read_unlock(mm);

		err = dmirror_snapshot_step(dmirror, mm, addr, next, perm,
					    allocs);
		if (err)
			break;
		for (i = 0; i < (next - addr) >> PAGE_SHIFT; i++) {
			if (!allocs[i])
				continue;
			cmd->cpages++;
			/* One eviction per allocation, however many pages. */
			ret = 0;
			if (!i || allocs[i] != allocs[i - 1])
				ret = drm_pagemap_evict_to_ram(&allocs[i]->devmem);
			if (ret && !err)
				err = ret;
		}
		for (i = 0; i < (next - addr) >> PAGE_SHIFT; i++)
			if (allocs[i])
				dmirror_alloc_put(allocs[i]);
		if (err)
			break;
	}
	mmput(mm);
	return err;
}

/* EXCLUSIVE ---------------------------------------------------------------- */

/* An exclusive entry, in a slot reserved; notifier lock held for write. */
static void dmirror_store_exclusive(struct dmirror *dmirror,
				    unsigned long addr, struct page *page)
{
	void *old = xa_store(&dmirror->pt, addr >> PAGE_SHIFT,
			     xa_tag_pointer(page, DMIRROR_PT_ATOMIC),
			     GFP_NOWAIT);

	WARN_ON_ONCE(xa_is_err(old));
}

/*
 * Map [@start, @end) for exclusive (atomic) access:
 * make_device_exclusive_range() as lib/test_hmm.c does, then, with the pages
 * still locked, the entries go in the page table under the notifier lock,
 * unless the span saw an invalidation other than a device-exclusive one in
 * between (an unmap, a COW, an mprotect()). Driver lock held.
 */
static int dmirror_exclusive_step(struct dmirror *dmirror,
				  struct mm_struct *mm, unsigned long start,
				  unsigned long end)
{
	struct drm_gpusvm *gpusvm = &dmirror->gpusvm;
	struct page *pages[DMIRROR_STEP_PAGES];
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long seq, i, index;
	bool mapped;
	int ret, err, tries;

	lockdep_assert_held(&dmirror->lock);

	for (index = start >> PAGE_SHIFT; index < end >> PAGE_SHIFT; index++) {
		err = xa_reserve(&dmirror->pt, index, GFP_KERNEL);
		if (err)
			return err;
	}

	for (tries = 0; tries < DMIRROR_FAULT_TRIES; tries++) {
		down_write(&gpusvm->notifier_lock);
		seq = dmirror->exclusive_seq;
		dmirror->exclusive_start = start;
		dmirror->exclusive_end = end;
		up_write(&gpusvm->notifier_lock);

		mmap_read_lock(mm);
		ret = make_device_exclusive_range(mm, start, end, pages,
						  dmirror);
		mmap_read_unlock(mm);
		if (ret < 0)
			return -EBUSY;	/* as lib/test_hmm.c: nothing mapped */

		/* Only if every page is exclusive now, as lib/test_hmm.c. */
		err = ret == npages ? 0 : -EBUSY;
		for (i = 0; i < ret; i++)
			if (!pages[i])
				err = -EBUSY;
		mapped = false;
		if (!err) {
			down_write(&gpusvm->notifier_lock);
			if (dmirror->exclusive_seq == seq) {
				for (i = 0; i < npages; i++)
					dmirror_store_exclusive(dmirror,
								start + (i << PAGE_SHIFT),
								pages[i]);
				mapped = true;
			}
			up_write(&gpusvm->notifier_lock);
		}
		for (i = 0; i < ret; i++) {
			if (pages[i]) {
				unlock_page(pages[i]);
				put_page(pages[i]);
			}
		}
		if (err || mapped)
			return err;
	}
	return -EBUSY;
}

/*
 * EXCLUSIVE: the device takes atomic access to the span. Ranges are made
 * first, so that the notifiers of the VM see the CPU take the pages back.
 */
static int dmirror_exclusive(struct dmirror *dmirror,
			     struct hmm_dmirror_cmd *cmd)
{
	struct drm_gpusvm *gpusvm = &dmirror->gpusvm;
	struct mm_struct *mm = gpusvm->mm;
	unsigned long start = cmd->addr;
	unsigned long end = start + (cmd->npages << PAGE_SHIFT);
	struct drm_gpusvm_ctx ctx = {
		.device_private_page_owner = dmirror->mdevice,
	};
	struct drm_gpusvm_range *range;
	struct dmirror_bounce bounce;
	unsigned long addr, next;
	int err = 0;

	if (!mmget_not_zero(mm))
		return -EINVAL;
	mutex_lock(&dmirror->lock);
	dmirror_garbage_collect(dmirror);
	for (addr = start; addr < end; addr = drm_gpusvm_range_end(range)) {
		range = drm_gpusvm_range_find_or_insert(gpusvm, addr, 0,
							gpusvm->mm_range, &ctx);
		if (IS_ERR(range)) {
			err = -EBUSY;
			goto unlock;
		}
	}
	for (addr = start; addr < end; addr = next) {
		next = min(end, addr + (DMIRROR_STEP_PAGES << PAGE_SHIFT));
		err = dmirror_exclusive_step(dmirror, mm, addr, next);
		if (err)
			break;
	}
unlock:
	mutex_unlock(&dmirror->lock);
	mmput(mm);
	if (err)
		return err;

	/* Return the data for verification. */
	err = dmirror_bounce_init(&bounce, start, end - start);
	if (err)
		return err;
	err = dmirror_copy_pt(dmirror, end, &bounce, false);
	if (!err && copy_to_user(u64_to_user_ptr(cmd->ptr), bounce.ptr,
				 bounce.size))
		err = -EFAULT;
	cmd->cpages = bounce.cpages;
	vfree(bounce.ptr);
	return err;
}

static int dmirror_check_exclusive(struct dmirror *dmirror,
				   struct hmm_dmirror_cmd *cmd)
{
	unsigned long first = cmd->addr >> PAGE_SHIFT;
	unsigned long last = first + cmd->npages - 1;
	unsigned long index;
	void *entry;
	int err = 0;

	drm_gpusvm_notifier_lock(&dmirror->gpusvm);
	xa_for_each_range(&dmirror->pt, index, entry, first, last)
		if (xa_pointer_tag(entry) == DMIRROR_PT_ATOMIC)
			err = -EPERM;
	drm_gpusvm_notifier_unlock(&dmirror->gpusvm);
	return err;
}

/* The file ---------------------------------------------------------------- */

static int dmirror_fops_open(struct inode *inode, struct file *filp)
{
	struct dmirror_device *mdevice =
		container_of(inode->i_cdev, struct dmirror_device, cdev);
	struct dmirror *dmirror;
	int err;

	if (!current->mm)
		return -EINVAL;
	dmirror = kzalloc(sizeof(*dmirror), GFP_KERNEL);
	if (!dmirror)
		return -ENOMEM;
	dmirror->mdevice = mdevice;
	mutex_init(&dmirror->lock);
	mutex_init(&dmirror->snapshot_lock);
	xa_init(&dmirror->pt);
	spin_lock_init(&dmirror->gc_lock);
	INIT_LIST_HEAD(&dmirror->gc_list);

	err = drm_gpusvm_init(&dmirror->gpusvm, "hmm_dmirror", mdevice->drm,
			      current->mm, 0, current->mm->task_size, SZ_512M,
			      &dmirror_gpusvm_ops, dmirror_chunk_sizes,
			      ARRAY_SIZE(dmirror_chunk_sizes));
	if (err) {
		kfree(dmirror);
		return err;
	}
	drm_gpusvm_driver_set_lock(&dmirror->gpusvm, &dmirror->lock);
	filp->private_data = dmirror;
	return 0;
}

static int dmirror_fops_release(struct inode *inode, struct file *filp)
{
	struct dmirror *dmirror = filp->private_data;
	struct dmirror_range *drange;
	unsigned long index;
	void *entry;

	mutex_lock(&dmirror->lock);
	down_write(&dmirror->gpusvm.notifier_lock);
	xa_for_each(&dmirror->pt, index, entry)
		xa_erase(&dmirror->pt, index);
	up_write(&dmirror->gpusvm.notifier_lock);
	drm_gpusvm_fini(&dmirror->gpusvm);
	while ((drange = dmirror_gc_pop(dmirror)))
		drm_gpusvm_range_put(&drange->base);
	mutex_unlock(&dmirror->lock);

	xa_destroy(&dmirror->pt);
	mutex_destroy(&dmirror->snapshot_lock);
	mutex_destroy(&dmirror->lock);
	kfree(dmirror);
	return 0;
}

static long dmirror_fops_unlocked_ioctl(struct file *filp,
					unsigned int command,
					unsigned long arg)
{
	struct dmirror *dmirror = filp->private_data;
	void __user *uarg = (void __user *)arg;
	struct hmm_dmirror_cmd cmd;
	int err;

	if (copy_from_user(&cmd, uarg, sizeof(cmd)))
		return -EFAULT;
	if (cmd.addr & ~PAGE_MASK)
		return -EINVAL;
	if (cmd.npages > (ULONG_MAX >> PAGE_SHIFT) ||
	    cmd.addr >= cmd.addr + (cmd.npages << PAGE_SHIFT))
		return -EINVAL;
	cmd.cpages = 0;
	cmd.faults = 0;

	switch (command) {
	case HMM_DMIRROR_READ:
		err = dmirror_rw(dmirror, &cmd, false);
		break;
	case HMM_DMIRROR_WRITE:
		err = dmirror_rw(dmirror, &cmd, true);
		break;
	case HMM_DMIRROR_MIGRATE_TO_DEV:
		err = dmirror_migrate_to_device(dmirror, &cmd);
		break;
	case HMM_DMIRROR_MIGRATE_TO_SYS:
		err = dmirror_migrate_to_system(dmirror, &cmd);
		break;
	case HMM_DMIRROR_EXCLUSIVE:
		err = dmirror_exclusive(dmirror, &cmd);
		break;
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
		err = dmirror_check_exclusive(dmirror, &cmd);
		break;
	case HMM_DMIRROR_SNAPSHOT:
		err = dmirror_snapshot(dmirror, &cmd);
		break;
	case HMM_DMIRROR_RELEASE:
		err = dmirror_evict_all(dmirror->mdevice, false);
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	if (copy_to_user(uarg, &cmd, sizeof(cmd)))
		return -EFAULT;
	return 0;
}

/* A mapping of the device file: zeroed pages inserted as lib/test_hmm.c does. */
static int dmirror_fops_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long addr;
	struct page *page;
	int err;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!page)
			return -ENOMEM;
		err = vm_insert_page(vma, addr, page);
		put_page(page);
		if (err)
			return err;
	}
	return 0;
}

static const struct file_operations dmirror_fops = {
	.owner = THIS_MODULE,
	.open = dmirror_fops_open,
	.release = dmirror_fops_release,
	.mmap = dmirror_fops_mmap,
	.unlocked_ioctl = dmirror_fops_unlocked_ioctl,
	.llseek = default_llseek,
};

/* The devices -------------------------------------------------------------- */

static const struct drm_driver dmirror_drm_driver = {
	.name = "hmm_dmirror",
	.desc = "HMM mirror test device on the GPU SVM helpers",
	.major = 1,
};

static int dmirror_vram_init(struct dmirror_device *mdevice)
{
	unsigned long size = (unsigned long)vram_mb << 20;
	struct device *dev = &mdevice->pdev->dev;
	struct resource *res;
	void *addr;
	int err;

	spin_lock_init(&mdevice->lock);
	init_llist_head(&mdevice->release_list);
	INIT_WORK(&mdevice->release_work, dmirror_release_work);

	res = request_free_mem_region(&iomem_resource, size, "hmm_dmirror");
	if (IS_ERR(res))
		return PTR_ERR(res);
	mdevice->pagemap.type = MEMORY_DEVICE_PRIVATE;
	mdevice->pagemap.range.start = res->start;
	mdevice->pagemap.range.end = res->end;
	mdevice->pagemap.nr_range = 1;
	mdevice->pagemap.ops = drm_pagemap_pagemap_ops_get();
	mdevice->pagemap.owner = mdevice;
	mdevice->pfn_first = PHYS_PFN(res->start);
	mdevice->npages = size >> PAGE_SHIFT;

	err = -ENOMEM;
	mdevice->used = bitmap_zalloc(mdevice->npages, GFP_KERNEL);
	mdevice->backing = kvcalloc(mdevice->npages, sizeof(*mdevice->backing),
				    GFP_KERNEL);
	mdevice->alloc_of = kvcalloc(mdevice->npages,
				     sizeof(*mdevice->alloc_of), GFP_KERNEL);
	if (!mdevice->used || !mdevice->backing || !mdevice->alloc_of)
		goto free;

	addr = memremap_pages(&mdevice->pagemap, dev_to_node(dev));
	if (IS_ERR(addr)) {
		err = PTR_ERR(addr);
		goto free;
	}
	err = drm_pagemap_init(&mdevice->dpagemap, &mdevice->pagemap, dev,
			       &dmirror_pagemap_ops);
	if (err)
		goto unmap;
	return 0;

unmap:
	memunmap_pages(&mdevice->pagemap);
free:
	kvfree(mdevice->alloc_of);
	kvfree(mdevice->backing);
	bitmap_free(mdevice->used);
	release_mem_region(res->start, resource_size(res));
	return err;
}

static void dmirror_vram_fini(struct dmirror_device *mdevice)
{
	dmirror_evict_all(mdevice, true);
	memunmap_pages(&mdevice->pagemap);
	flush_work(&mdevice->release_work);
	drm_pagemap_put(&mdevice->dpagemap);
	kvfree(mdevice->alloc_of);
	kvfree(mdevice->backing);
	bitmap_free(mdevice->used);
	release_mem_region(mdevice->pagemap.range.start,
			   range_len(&mdevice->pagemap.range));
}

/* The device is static: nothing to free. */
static void dmirror_device_release(struct device *dev)
{
}

static int dmirror_device_init(struct dmirror_device *mdevice, int id)
{
	int err;

	mdevice->pdev = platform_device_register_simple("hmm_dmirror", id,
							NULL, 0);
	if (IS_ERR(mdevice->pdev))
		return PTR_ERR(mdevice->pdev);
	err = dma_coerce_mask_and_coherent(&mdevice->pdev->dev,
					   DMA_BIT_MASK(64));
	if (err)
		goto unregister;
	/* The page table resolves DMA addresses to the pages they map. */
	if (device_iommu_mapped(&mdevice->pdev->dev) ||
	    is_swiotlb_force_bounce(&mdevice->pdev->dev)) {
		dev_err(&mdevice->pdev->dev, "needs direct DMA without bouncing\n");
		err = -ENODEV;
		goto unregister;
	}
	mdevice->drm = drm_dev_alloc(&dmirror_drm_driver, &mdevice->pdev->dev);
	if (IS_ERR(mdevice->drm)) {
		err = PTR_ERR(mdevice->drm);
		goto unregister;
	}
	err = dmirror_vram_init(mdevice);
	if (err)
		goto put_drm;

	cdev_init(&mdevice->cdev, &dmirror_fops);
	mdevice->cdev.owner = THIS_MODULE;
	device_initialize(&mdevice->device);
	mdevice->device.devt = MKDEV(MAJOR(dmirror_dev), id);
	mdevice->device.release = dmirror_device_release;
	err = dev_set_name(&mdevice->device, "hmm_dmirror%d", id);
	if (!err)
		err = cdev_device_add(&mdevice->cdev, &mdevice->device);
	if (err) {
		put_device(&mdevice->device);
		goto fini_vram;
	}
	return 0;

fini_vram:
	dmirror_vram_fini(mdevice);
put_drm:
	drm_dev_put(mdevice->drm);
unregister:
	platform_device_unregister(mdevice->pdev);
	return err;
}

static void dmirror_device_fini(struct dmirror_device *mdevice)
{
	cdev_device_del(&mdevice->cdev, &mdevice->device);
	put_device(&mdevice->device);
	dmirror_vram_fini(mdevice);
	drm_dev_put(mdevice->drm);
	platform_device_unregister(mdevice->pdev);
}

static int __init dmirror_init(void)
{
	int err, id;

	err = alloc_chrdev_region(&dmirror_dev, 0, DMIRROR_NDEVICES,
				  "HMM_DMIRROR");
	if (err)
		return err;
	for (id = 0; id < DMIRROR_NDEVICES; id++) {
		err = dmirror_device_init(&dmirror_devices[id], id);
		if (err)
			goto fini;
	}
	return 0;

fini:
	while (--id >= 0)
		dmirror_device_fini(&dmirror_devices[id]);
	unregister_chrdev_region(dmirror_dev, DMIRROR_NDEVICES);
	return err;
}

static void __exit dmirror_exit(void)
{
	int id;

	for (id = 0; id < DMIRROR_NDEVICES; id++)
		dmirror_device_fini(&dmirror_devices[id]);
	unregister_chrdev_region(dmirror_dev, DMIRROR_NDEVICES);
}

module_init(dmirror_init);
module_exit(dmirror_exit);
MODULE_DESCRIPTION("HMM mirror test device on the DRM GPU SVM helpers");
MODULE_LICENSE("GPL");
