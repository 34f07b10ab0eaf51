// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Device memory regions and migration for GPU shared virtual memory.
 */

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/export.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include <drm/drm_pagemap.h>

#include "drm_gpusvm_inject.h"

/**
 * DOC: Migration
 *
 * A &struct drm_pagemap is one region of device memory (VRAM), backed by a
 * %MEMORY_DEVICE_PRIVATE &struct dev_pagemap whose &dev_pagemap.ops are
 * drm_pagemap_pagemap_ops_get(). A &struct drm_pagemap_devmem is one
 * allocation in that region, embedded by the driver in its own object.
 *
 * Device memory is tracked physically, per allocation, and never per GPU SVM
 * range or virtual address: several GPU VMs (several &struct drm_gpusvm) may
 * mirror the same mm, and they must all agree on where a page is. The only
 * authority on placement is the CPU page table. Every device page carries, in
 * &page.zone_device_data, a reference to a record of its allocation, from the
 * moment it is initialised until its &dev_pagemap_ops.page_free. The record
 * knows the allocation, the region and the device-private owner; nothing
 * points from a page to a virtual address.
 *
 * The life of an allocation:
 *
 * - The driver sets it up with drm_pagemap_devmem_init() and calls
 *   drm_pagemap_migrate_to_devmem() once, which moves a span of the mm into
 *   it with migrate_vma_setup(), &drm_pagemap_devmem_ops.copy_to_devmem,
 *   migrate_vma_pages() and migrate_vma_finalize(). The call consumes the
 *   caller's reference to the allocation.
 * - A CPU access to a device page faults into &dev_pagemap_ops.migrate_to_ram,
 *   which moves the pages of the allocation around the fault back to system
 *   memory. The allocation's timeslice only holds off user-mode CPU
 *   accesses: they fault again with no lock held. Every other fault
 *   (another device's hmm_range_fault(), GUP, a kernel access) migrates at
 *   once, since it would otherwise spin with the mmap lock held.
 * - drm_pagemap_evict_to_ram() moves every page of the allocation back
 *   without any virtual address, by walking its device pfns with
 *   migrate_device_range().
 * - When the last device page of the allocation is freed (the CPU mapping went
 *   away or the page was migrated back) and the caller's reference is gone,
 *   &drm_pagemap_devmem.detached completes and
 *   &drm_pagemap_devmem_ops.devmem_release runs, exactly once and possibly in
 *   atomic context.
 *
 * Each &struct drm_gpusvm learns about every placement change through its own
 * mmu interval notifier: the core mm invalidates the span with
 * %MMU_NOTIFY_MIGRATE (owner set to the device-private owner) whenever a page
 * moves in either direction, the driver zaps its GPU page-table entries, and
 * its next GPU fault collects the pages again with hmm_range_fault(), which
 * reports device pages of its owner as such and migrates any other device
 * page back to system memory.
 *
 * References are krefs on the library's records, never get_page() on device
 * pages: migrate_vma_setup() and migrate_device_range() refuse pages with
 * extra references. A region is referenced by the driver, by every
 * allocation's record and by every GPU SVM mapping of its pages, so it is
 * never destroyed while one of its pages is resident or mapped.
 *
 * do_swap_page() runs &dev_pagemap_ops.migrate_to_ram with the faulting
 * device page locked and referenced; other faults on that page wait for its
 * lock without a reference, so the faulter's migration of its own page cannot
 * fail on theirs. Faults on other pages of the allocation
 * hold their own page locked and referenced, and a migration skips such
 * pages, so one faulter per allocation migrates at a time (a bit lock taken
 * with a trylock). The others do not spin: a user-mode access returns and
 * faults again from user space; any other (a kernel access,
 * hmm_range_fault(), GUP) would refault without leaving the kernel, so it
 * sleeps on the bit until the migration ends, with the fault lock dropped
 * when the fault may be retried, and then moves its own page. Eviction skips
 * the pages faults hold and retries them, bounded in time, until those
 * faults have moved them.
 */

/* How long drm_pagemap_evict_to_ram() keeps retrying pages that are busy. */
#define DRM_PAGEMAP_EVICT_TIMEOUT_MS	5000

/*
 * The most a CPU fault migrates back at once: the aligned window of the
 * allocation around the faulting address, capped to bound the fault's work.
 */
#define DRM_PAGEMAP_FAULT_MAX_SIZE	SZ_2M

/**
 * struct drm_pagemap_record - What a device page knows about its allocation
 *
 * Stored in &page.zone_device_data of every device page of an allocation from
 * its initialisation until &dev_pagemap_ops.page_free. The last reference
 * detaches the allocation; this may happen in atomic context.
 */
struct drm_pagemap_record {
	/**
	 * @ref: Held by each live device page, by the migrating caller until
	 * drm_pagemap_migrate_to_devmem() returns, and briefly by CPU faults
	 * and evictions.
	 */
	struct kref ref;
	/**
	 * @live_pages: Device pages of the allocation not freed yet, plus one
	 * while drm_pagemap_migrate_to_devmem() runs: pages may still come,
	 * so an eviction cannot call the allocation empty.
	 */
	atomic_t live_pages;
	/** @devmem: The allocation; valid until the record goes. */
	struct drm_pagemap_devmem *devmem;
	/** @dpagemap: The region, referenced by the record. */
	struct drm_pagemap *dpagemap;
	/**
	 * @flags: %DRM_PAGEMAP_RECORD_FAULTING while a CPU fault migrates
	 * pages of the allocation back.
	 */
	unsigned long flags;
};

/*
 * One fault at a time migrates an allocation's pages back: the others hold
 * their own pages locked while in the fault handler, which its migration
 * would have to skip.
 */
#define DRM_PAGEMAP_RECORD_FAULTING	0

/* Faults wait for that bit: lockdep sees it as the lock it is. */
#ifdef CONFIG_LOCKDEP
static struct lockdep_map drm_pagemap_fault_map = {
	.name = "drm_pagemap_fault"
};
#endif

/* The allocation cannot hold any page any more: tell the driver. */
static void drm_pagemap_devmem_detach(struct drm_pagemap_devmem *devmem)
{
	complete_all(&devmem->detached);
	if (devmem->ops->devmem_release)
		devmem->ops->devmem_release(devmem);
}

/* Last reference: may run in atomic context, from page_free. */
static void drm_pagemap_record_release(struct kref *ref)
{
	struct drm_pagemap_record *record =
		container_of(ref, struct drm_pagemap_record, ref);
	struct drm_pagemap_devmem *devmem = record->devmem;
	struct drm_pagemap *dpagemap = record->dpagemap;
	unsigned long flags;

	spin_lock_irqsave(&devmem->lock, flags);
	devmem->record = NULL;
	spin_unlock_irqrestore(&devmem->lock, flags);

	drm_pagemap_devmem_detach(devmem);
	drm_pagemap_put(dpagemap);
	kfree(record);
}

static void drm_pagemap_record_put(struct drm_pagemap_record *record)
{
	kref_put(&record->ref, drm_pagemap_record_release);
}

/*
 * The allocations and DMA maps of the migration paths can be made to fail,
 * one at a time, with the task's fault-injection counter (fail-nth), so that
 * every unwind path can be exercised (see "Fault injection" in drm_gpusvm.c).
 */
static void *drm_pagemap_kvcalloc(size_t n, size_t size)
{
	if (drm_gpusvm_should_fail(n * size))
		return NULL;

	return kvcalloc(n, size, GFP_KERNEL);
}

static struct drm_pagemap_record *
drm_pagemap_record_create(struct drm_pagemap_devmem *devmem)
{
	struct drm_pagemap_record *record;
	unsigned long flags;

	if (drm_gpusvm_should_fail(sizeof(*record)))
		return NULL;
	record = kzalloc(sizeof(*record), GFP_KERNEL);
	if (!record)
		return NULL;

	kref_init(&record->ref);
	atomic_set(&record->live_pages, 1);
	record->devmem = devmem;
	record->dpagemap = drm_pagemap_get(devmem->dpagemap);

	spin_lock_irqsave(&devmem->lock, flags);
	devmem->record = record;
	spin_unlock_irqrestore(&devmem->lock, flags);

	return record;
}

/*
 * A reference to the allocation's record, or NULL if the allocation holds no
 * page (never migrated into, or already released).
 */
static struct drm_pagemap_record *
drm_pagemap_devmem_record_get(struct drm_pagemap_devmem *devmem)
{
	struct drm_pagemap_record *record;
	unsigned long flags;

	spin_lock_irqsave(&devmem->lock, flags);
	record = devmem->record;
	if (record && !kref_get_unless_zero(&record->ref))
		record = NULL;
	spin_unlock_irqrestore(&devmem->lock, flags);

	return record;
}

/* A fresh device page, locked and with one reference, joins the allocation. */
static void drm_pagemap_devmem_page_init(struct page *page,
					 struct drm_pagemap_record *record)
{
	zone_device_page_init(page);
	kref_get(&record->ref);
	atomic_inc(&record->live_pages);
	page->zone_device_data = record;
}

/* Free a device page that never got mapped: page_free drops its record. */
static void drm_pagemap_devmem_page_abort(struct page *page)
{
	unlock_page(page);
	put_page(page);
}

static void drm_pagemap_page_free(struct page *page)
{
	struct drm_pagemap_record *record = page->zone_device_data;

	page->zone_device_data = NULL;
	atomic_dec(&record->live_pages);
	drm_pagemap_record_put(record);
}

/**
 * drm_pagemap_init() - Initialise a device memory region
 * @dpagemap: Pointer to the region to initialise.
 * @pagemap: Its %MEMORY_DEVICE_PRIVATE pages, whose &dev_pagemap.ops must be
 *	drm_pagemap_pagemap_ops_get() and &dev_pagemap.owner non-NULL.
 * @dev: Device that owns the memory.
 * @ops: Callbacks of the region.
 *
 * The reference count starts at one, the caller's; drop it with
 * drm_pagemap_put().
 *
 * Context: Any context.
 * Returns: 0 on success, -EINVAL if an argument is NULL, @ops lacks
 * &drm_pagemap_ops.device_map or &drm_pagemap_ops.device_unmap, or @pagemap
 * has other callbacks or no owner.
 */
int drm_pagemap_init(struct drm_pagemap *dpagemap, struct dev_pagemap *pagemap,
		     struct device *dev, const struct drm_pagemap_ops *ops)
{
	if (!dpagemap || !pagemap || !dev || !ops)
		return -EINVAL;
	/* Every device page mapped goes through these. */
	if (!ops->device_map || !ops->device_unmap)
		return -EINVAL;
	if (pagemap->ops != drm_pagemap_pagemap_ops_get() || !pagemap->owner)
		return -EINVAL;

	dpagemap->ops = ops;
	dpagemap->dev = dev;
	dpagemap->pagemap = pagemap;
	kref_init(&dpagemap->ref);

	return 0;
}
EXPORT_SYMBOL_GPL(drm_pagemap_init);

/**
 * drm_pagemap_get() - Take a reference on a device memory region
 * @dpagemap: Pointer to the region, or NULL.
 *
 * Context: Any context.
 * Returns: @dpagemap.
 */
struct drm_pagemap *drm_pagemap_get(struct drm_pagemap *dpagemap)
{
	if (dpagemap)
		kref_get(&dpagemap->ref);

	return dpagemap;
}
EXPORT_SYMBOL_GPL(drm_pagemap_get);

static void drm_pagemap_release(struct kref *ref)
{
	struct drm_pagemap *dpagemap = container_of(ref, struct drm_pagemap,
						    ref);

	if (dpagemap->ops->destroy)
		dpagemap->ops->destroy(dpagemap);
}

/**
 * drm_pagemap_put() - Drop a reference on a device memory region
 * @dpagemap: Pointer to the region, or NULL.
 *
 * The last put calls &drm_pagemap_ops.destroy if set.
 *
 * Context: Any context; the last put may happen in atomic context, so
 * &drm_pagemap_ops.destroy must not sleep.
 * Returns: Nothing.
 */
void drm_pagemap_put(struct drm_pagemap *dpagemap)
{
	if (dpagemap)
		kref_put(&dpagemap->ref, drm_pagemap_release);
}
EXPORT_SYMBOL_GPL(drm_pagemap_put);

/**
 * drm_pagemap_page_to_dpagemap() - The device memory region of a device page
 * @page: Pointer to a page.
 *
 * Context: Any context. @page must be referenced or mapped, so that it
 * cannot be freed meanwhile (e.g. found by hmm_range_fault() and checked with
 * mmu_interval_read_retry() under the notifier lock).
 * Returns: The region of @page if it is a device page managed by drm_pagemap,
 * else NULL. No reference is taken.
 */
struct drm_pagemap *drm_pagemap_page_to_dpagemap(struct page *page)
{
	struct drm_pagemap_record *record;

	if (!is_device_private_page(page) ||
	    page->pgmap->ops != drm_pagemap_pagemap_ops_get())
		return NULL;

	record = page->zone_device_data;

	return record ? record->dpagemap : NULL;
}
EXPORT_SYMBOL_GPL(drm_pagemap_page_to_dpagemap);

/*
 * DMA-map one system page for a copy; @page NULL stands for zeroes. Each map
 * can be made to fail with fail-nth, like the allocations.
 */
static int drm_pagemap_dma_map(struct device *dev, struct page *page,
			       enum dma_data_direction dir,
			       struct drm_pagemap_addr *addr)
{
	dma_addr_t dma;

	if (drm_gpusvm_should_fail(PAGE_SIZE))
		return -ENOMEM;

	dma = dma_map_page(dev, page ?: ZERO_PAGE(0), 0, PAGE_SIZE, dir);
	if (dma_mapping_error(dev, dma))
		return -ENOMEM;

	*addr = drm_pagemap_addr_encode(dma, DRM_INTERCONNECT_SYSTEM, 0, dir);
	return 0;
}

/* Unmap the entries of @addrs whose device page in @pages is set. */
static void drm_pagemap_dma_unmap(struct device *dev, struct page **pages,
				  struct drm_pagemap_addr *addrs,
				  unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		if (pages[i])
			dma_unmap_page(dev, addrs[i].addr, PAGE_SIZE,
				       addrs[i].dir);
	}
}

/*
 * Only anonymous pages can move to device memory: those of private readable
 * mappings, anonymous or file-backed once written (the copied-on-write pages
 * of a private file mapping are anonymous, under its anon_vma; its page-cache
 * pages are refused page by page).
 */
static bool drm_pagemap_vma_migratable(struct vm_area_struct *vma)
{
	return (vma_is_anonymous(vma) || vma->anon_vma) &&
	       !is_vm_hugetlb_page(vma) &&
	       !(vma->vm_flags & (VM_SHARED | VM_SPECIAL)) &&
	       (vma->vm_flags & VM_READ);
}

/*
 * The work of drm_pagemap_migrate_to_devmem() once the record exists: on
 * every path the pages end up either in the allocation (referencing @record)
 * or where they were, and no DMA mapping is left.
 */
static int __drm_pagemap_migrate_to_devmem(struct drm_pagemap_devmem *devmem,
					   struct drm_pagemap_record *record,
					   struct mm_struct *mm,
					   unsigned long start,
					   unsigned long end,
					   unsigned long timeslice_ms)
{
	const struct drm_pagemap_devmem_ops *ops = devmem->ops;
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	unsigned long devmem_npages = devmem->size >> PAGE_SHIFT;
	struct migrate_vma migrate = {
		.start = start,
		.end = end,
		.pgmap_owner = devmem->dpagemap->pagemap->owner,
		/*
		 * Device pages of our owner are collected too, only to find
		 * those already in this region: they count as migrated.
		 */
		.flags = MIGRATE_VMA_SELECT_SYSTEM |
			 MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
	};
	struct drm_pagemap_addr *addrs;
	unsigned long nmigrate = 0;
	unsigned long *devmem_pfns;
	struct vm_area_struct *vma;
	struct page **pages;
	unsigned long i;
	void *buf;
	int err;

	vma = vma_lookup(mm, start);
	if (!vma)
		return -ENOENT;
	if (end > vma->vm_end || !drm_pagemap_vma_migratable(vma))
		return -EBUSY;

	buf = drm_pagemap_kvcalloc(npages, 2 * sizeof(*migrate.src) +
				   sizeof(*pages) + sizeof(*addrs));
	if (!buf)
		return -ENOMEM;
	devmem_pfns = drm_pagemap_kvcalloc(devmem_npages, sizeof(*devmem_pfns));
	if (!devmem_pfns) {
		err = -ENOMEM;
		goto out_free_buf;
	}
	migrate.src = buf;
	migrate.dst = migrate.src + npages;
	pages = buf + 2 * npages * sizeof(*migrate.src);
	addrs = buf + npages * (2 * sizeof(*migrate.src) + sizeof(*pages));
	migrate.vma = vma;

	err = migrate_vma_setup(&migrate);
	if (err)
		goto out_free_pfns;

	/* All or nothing: a page that was not collected is busy. */
	if (migrate.cpages != npages) {
		err = -EBUSY;
		goto out_finalize;
	}

	for (i = 0; i < npages; i++) {
		struct page *page = migrate_pfn_to_page(migrate.src[i]);

		if (!page || !is_zone_device_page(page)) {
			/* A page-cache page would stay where it is. */
			if (page && !PageAnon(page)) {
				err = -EBUSY;
				goto out_finalize;
			}
			nmigrate++;
			continue;
		}
		/* Device pages of another region cannot be copied from. */
		if (page->pgmap != devmem->dpagemap->pagemap) {
			err = -EBUSY;
			goto out_finalize;
		}
	}
	if (!nmigrate)
		goto out_finalize;

	err = ops->populate_devmem_pfn(devmem, devmem_npages, devmem_pfns);
	if (err)
		goto out_finalize;

	for (i = 0; i < npages; i++) {
		struct page *spage = migrate_pfn_to_page(migrate.src[i]);
		struct page *dpage;

		if (spage && is_zone_device_page(spage))
			continue;

		dpage = pfn_to_page(devmem_pfns[i]);
		drm_pagemap_devmem_page_init(dpage, record);
		pages[i] = dpage;
		migrate.dst[i] = migrate_pfn(devmem_pfns[i]) |
				 (migrate.src[i] & MIGRATE_PFN_WRITE);
	}

	for (i = 0; i < npages; i++) {
		if (!pages[i])
			continue;

		/* An empty source (none or zero page) reads as zeroes. */
		err = drm_pagemap_dma_map(devmem->dev,
					  migrate_pfn_to_page(migrate.src[i]),
					  DMA_TO_DEVICE, &addrs[i]);
		if (err)
			goto err_unmap;
	}

	err = ops->copy_to_devmem(pages, addrs, npages);
	if (err)
		goto err_unmap;

	/* Unmap before finalize frees the source pages. */
	drm_pagemap_dma_unmap(devmem->dev, pages, addrs, npages);

	/* Before finalize makes the device pages visible to CPU faults. */
	WRITE_ONCE(devmem->timeslice_expiration,
		   jiffies + msecs_to_jiffies(timeslice_ms));

	migrate_vma_pages(&migrate);
	for (i = 0; i < npages; i++) {
		if (pages[i] && !(migrate.src[i] & MIGRATE_PFN_MIGRATE))
			err = -EBUSY;
	}
	/* Device pages that did not move are freed there, leaving @record. */
	goto out_finalize;

err_unmap:
	/* Entries from @i on are not mapped yet. */
	drm_pagemap_dma_unmap(devmem->dev, pages, addrs, i);
	for (i = 0; i < npages; i++) {
		if (!pages[i])
			continue;
		drm_pagemap_devmem_page_abort(pages[i]);
		migrate.dst[i] = 0;
	}
out_finalize:
	/* Source pages without a destination are put back where they were. */
	migrate_vma_finalize(&migrate);
out_free_pfns:
	kvfree(devmem_pfns);
out_free_buf:
	kvfree(buf);
	return err;
}

/**
 * drm_pagemap_migrate_to_devmem() - Migrate a span of an mm to device memory
 * @devmem: The allocation to migrate into, set up with
 *	drm_pagemap_devmem_init() and not migrated into before.
 * @mm: The mm of the span.
 * @start: Start of the span (page aligned).
 * @end: Exclusive end of the span (page aligned).
 * @timeslice_ms: Minimum time the pages stay in device memory before a
 *	user-mode CPU fault moves them back, at most
 *	%DRM_PAGEMAP_TIMESLICE_MAX_MS.
 * @pgmap_owner: Device-private owner of the region: must be the
 *	&dev_pagemap.owner of @devmem's region, which migrations in both
 *	directions use (and pass to the mmu notifiers).
 *
 * Moves [@start, @end) into the first (@end - @start) pages of @devmem with
 * migrate_vma_setup(), &drm_pagemap_devmem_ops.copy_to_devmem,
 * migrate_vma_pages() and migrate_vma_finalize(). All or nothing: if not
 * every page can be collected, nothing moves. Pages already in this region
 * count as migrated and stay where they are. Empty and zero-page entries are
 * copied from the shared zero page, so the device page reads as zeroes.
 *
 * The caller's reference to @devmem is consumed on every path, errors
 * included: once no device page of @devmem is left,
 * &drm_pagemap_devmem.detached completes and
 * &drm_pagemap_devmem_ops.devmem_release (if set) runs, before this returns if
 * no page moved. The one exception is an allocation that already holds pages
 * from an earlier call: that call is refused and the allocation left as it is.
 *
 * Context: Process context, @mm's mmap lock held for read (asserted), no GPU
 * SVM notifier lock held (the migration invalidates the span); may sleep.
 * Returns: 0 on success (also when every page was already in this region);
 * -EINVAL if the span is empty, unaligned or larger than @devmem, if
 * @pgmap_owner is not the region's owner, or if @devmem already holds pages
 * (both with a warning); -EOPNOTSUPP if &drm_pagemap_devmem_ops.populate_devmem_pfn,
 * &drm_pagemap_devmem_ops.copy_to_devmem or
 * &drm_pagemap_devmem_ops.copy_to_ram is missing; -ENOENT if no VMA is at
 * @start; -EBUSY if the VMA does not cover the span, the memory cannot migrate
 * (a shared or hugetlb mapping, a page-cache page of a private file mapping,
 * %PROT_NONE), or some page could not be collected or moved (pages that did
 * move stay in @devmem); -ENOMEM on allocation or DMA mapping failure; or the
 * error of &drm_pagemap_devmem_ops.populate_devmem_pfn or
 * &drm_pagemap_devmem_ops.copy_to_devmem.
 */
int drm_pagemap_migrate_to_devmem(struct drm_pagemap_devmem *devmem,
				  struct mm_struct *mm,
				  unsigned long start, unsigned long end,
				  unsigned long timeslice_ms,
				  void *pgmap_owner)
{
	const struct drm_pagemap_devmem_ops *ops = devmem->ops;
	struct drm_pagemap_record *record;
	int err;

	mmap_assert_locked(mm);

	/* Its pages point at the record: never replace it. */
	if (WARN_ON_ONCE(READ_ONCE(devmem->record)))
		return -EINVAL;

	if (start >= end || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(end) ||
	    end - start > devmem->size ||
	    WARN_ON_ONCE(pgmap_owner != devmem->dpagemap->pagemap->owner)) {
		drm_pagemap_devmem_detach(devmem);
		return -EINVAL;
	}
	if (!ops->populate_devmem_pfn || !ops->copy_to_devmem ||
	    !ops->copy_to_ram) {
		drm_pagemap_devmem_detach(devmem);
		return -EOPNOTSUPP;
	}
	if (WARN_ON_ONCE(timeslice_ms > DRM_PAGEMAP_TIMESLICE_MAX_MS))
		timeslice_ms = DRM_PAGEMAP_TIMESLICE_MAX_MS;

	record = drm_pagemap_record_create(devmem);
	if (!record) {
		drm_pagemap_devmem_detach(devmem);
		return -ENOMEM;
	}

	err = __drm_pagemap_migrate_to_devmem(devmem, record, mm, start, end,
					      timeslice_ms);
	atomic_dec(&record->live_pages);
	drm_pagemap_record_put(record);

	return err;
}
EXPORT_SYMBOL_GPL(drm_pagemap_migrate_to_devmem);

/*
 * Allocate, DMA-map and fill system pages for the collected device pages of
 * @record in @src. On error every destination page is freed and @dst cleared,
 * so that finalize puts the device pages back.
 */
static int drm_pagemap_copy_back(struct drm_pagemap_record *record,
				 struct vm_area_struct *vma,
				 unsigned long start, unsigned long *src,
				 unsigned long *dst, struct page **pages,
				 struct drm_pagemap_addr *addrs,
				 unsigned long npages, bool nofail)
{
	struct drm_pagemap_devmem *devmem = record->devmem;
	gfp_t gfp = GFP_HIGHUSER | (nofail ? __GFP_NOFAIL : 0);
	unsigned long i, ncopy = 0;
	int err = 0;

	for (i = 0; i < npages; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct page *dpage;

		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE) ||
		    spage->zone_device_data != record)
			continue;

		if (!nofail && drm_gpusvm_should_fail(PAGE_SIZE))
			dpage = NULL;
		else if (vma)
			dpage = alloc_page_vma(gfp, vma,
					       start + (i << PAGE_SHIFT));
		else
			dpage = alloc_page(gfp);
		if (!dpage) {
			err = -ENOMEM;
			break;
		}
		lock_page(dpage);
		dst[i] = migrate_pfn(page_to_pfn(dpage)) |
			 (src[i] & MIGRATE_PFN_WRITE);

		err = drm_pagemap_dma_map(devmem->dev, dpage, DMA_FROM_DEVICE,
					  &addrs[i]);
		if (err)
			break;
		pages[i] = spage;
		ncopy++;
	}

	if (!err && ncopy) {
		err = devmem->ops->copy_to_ram(pages, addrs, npages);
		/* The unbind path cannot give up: the driver must not fail. */
		WARN_ON_ONCE(err && nofail);
	}

	/* Unmap before the CPU can see the pages: syncs them for the CPU. */
	drm_pagemap_dma_unmap(devmem->dev, pages, addrs, npages);
	if (!err)
		return 0;

	for (i = 0; i < npages; i++) {
		struct page *dpage = migrate_pfn_to_page(dst[i]);

		if (!dpage)
			continue;
		unlock_page(dpage);
		put_page(dpage);
		dst[i] = 0;
	}

	return err;
}

/*
 * The window of the allocation around @addr that a CPU fault moves back: the
 * aligned block of the allocation's size (capped), inside the VMA.
 */
static void drm_pagemap_fault_window(struct vm_area_struct *vma,
				     unsigned long addr, size_t devmem_size,
				     unsigned long *start, unsigned long *end)
{
	unsigned long size = min_t(unsigned long,
				   roundup_pow_of_two(max_t(size_t, devmem_size,
							    PAGE_SIZE)),
				   DRM_PAGEMAP_FAULT_MAX_SIZE);
	unsigned long aligned = ALIGN_DOWN(addr, size);

	*start = max(aligned, vma->vm_start);
	*end = min(aligned + size, vma->vm_end);
}

static vm_fault_t __drm_pagemap_migrate_to_ram(struct vm_fault *vmf,
					       struct drm_pagemap_record *record)
{
	struct migrate_vma migrate = {
		.vma = vmf->vma,
		/* The faulting page's own owner, whoever migrated it. */
		.pgmap_owner = vmf->page->pgmap->owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	struct drm_pagemap_addr *addrs;
	unsigned long npages;
	struct page **pages;
	vm_fault_t ret = 0;
	void *buf;
	int err;

	/* A COW child faults in its own mm: only vmf->vma is used. */
	drm_pagemap_fault_window(vmf->vma, vmf->address, record->devmem->size,
				 &migrate.start, &migrate.end);
	npages = (migrate.end - migrate.start) >> PAGE_SHIFT;

	buf = drm_pagemap_kvcalloc(npages, 2 * sizeof(*migrate.src) +
				   sizeof(*pages) + sizeof(*addrs));
	if (!buf)
		return VM_FAULT_OOM;
	migrate.src = buf;
	migrate.dst = migrate.src + npages;
	pages = buf + 2 * npages * sizeof(*migrate.src);
	addrs = buf + npages * (2 * sizeof(*migrate.src) + sizeof(*pages));

	if (migrate_vma_setup(&migrate)) {
		ret = VM_FAULT_SIGBUS;
		goto out_free;
	}
	if (!migrate.cpages)
		goto out_free;

	/* Pages of other allocations in the window are put back as they are. */
	err = drm_pagemap_copy_back(record, vmf->vma, migrate.start,
				    migrate.src, migrate.dst, pages, addrs,
				    npages, false);
	if (err)
		ret = err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	else
		migrate_vma_pages(&migrate);
	migrate_vma_finalize(&migrate);

out_free:
	kvfree(buf);
	return ret;
}

/*
 * Another fault migrates pages of the allocation. A user-mode access returns
 * and faults again from user space. Any other (a kernel access, GUP,
 * hmm_range_fault()) would fault again without leaving the kernel, and spin:
 * it sleeps until the migration ends, with the fault lock dropped when the
 * fault may be retried, as do_swap_page() waits for a page lock. It sleeps
 * holding its own page locked and referenced, which the winner's migration
 * skips; the sleeper moves that page itself when it faults again.
 */
static vm_fault_t drm_pagemap_fault_wait(struct vm_fault *vmf,
					 struct drm_pagemap_record *record)
{
	if (vmf->flags & FAULT_FLAG_USER)
		return 0;

	lock_map_acquire(&drm_pagemap_fault_map);
	lock_map_release(&drm_pagemap_fault_map);

	if (fault_flag_allow_retry_first(vmf->flags)) {
		/* As __folio_lock_or_retry(): keep the lock if told not to wait. */
		if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
			return VM_FAULT_RETRY;
		release_fault_lock(vmf);
		wait_on_bit(&record->flags, DRM_PAGEMAP_RECORD_FAULTING,
			    TASK_KILLABLE);
		return VM_FAULT_RETRY;
	}

	if (wait_on_bit(&record->flags, DRM_PAGEMAP_RECORD_FAULTING,
			TASK_KILLABLE))
		return VM_FAULT_SIGBUS;
	return 0;
}

/*
 * A CPU access to a device page. Called with the mmap lock held for read and
 * vmf->page locked and referenced, so the page and its record stay.
 * Returning without moving the page makes the CPU fault again. Every faulter
 * holds its page locked and referenced while it is in here, which makes the
 * migration of the others skip that page: so one faulter per allocation
 * migrates at a time, and a faulter that did not move its page returns at
 * once.
 */
static vm_fault_t drm_pagemap_migrate_to_ram(struct vm_fault *vmf)
{
	struct drm_pagemap_record *record = vmf->page->zone_device_data;
	bool user = vmf->flags & FAULT_FLAG_USER;
	vm_fault_t ret;

	/*
	 * Only a user-mode access waits out the timeslice: it faults again
	 * with no lock held. Any other fault (another device's
	 * hmm_range_fault(), GUP, a kernel access) would spin with the mmap
	 * lock held: it does not wait for the timeslice.
	 */
	if (user && time_before(jiffies,
				READ_ONCE(record->devmem->timeslice_expiration)))
		return 0;

	if (test_and_set_bit_lock(DRM_PAGEMAP_RECORD_FAULTING, &record->flags))
		return drm_pagemap_fault_wait(vmf, record);

	lock_map_acquire(&drm_pagemap_fault_map);
	ret = __drm_pagemap_migrate_to_ram(vmf, record);
	lock_map_release(&drm_pagemap_fault_map);

	clear_and_wake_up_bit(DRM_PAGEMAP_RECORD_FAULTING, &record->flags);

	/*
	 * A kernel-mode access whose page did not move (a concurrent
	 * migration held it for a moment) faults again without leaving the
	 * kernel: let the holder run when the scheduler asks for it. A
	 * device's fault returns at once: our migration invalidated the
	 * window around its page, so hmm_range_fault() returns and its GPU
	 * SVM caller yields holding no page.
	 */
	if (!user && !(vmf->flags & FAULT_FLAG_REMOTE))
		cond_resched();
	return ret;
}

static const struct dev_pagemap_ops drm_pagemap_pagemap_ops = {
	.page_free = drm_pagemap_page_free,
	.migrate_to_ram = drm_pagemap_migrate_to_ram,
};

/**
 * drm_pagemap_pagemap_ops_get() - The device page callbacks of drm_pagemap
 *
 * Drivers install these as &dev_pagemap.ops of the %MEMORY_DEVICE_PRIVATE
 * pages of every &struct drm_pagemap. &dev_pagemap_ops.page_free drops the
 * page's reference to its allocation; &dev_pagemap_ops.migrate_to_ram moves
 * the pages of the allocation around a CPU fault back to system memory,
 * without taking any driver lock, with the device-private owner of the
 * faulting page's own pagemap. It handles a COW child's fault (in another mm)
 * too. Until the allocation's timeslice has passed, a user-mode access
 * leaves the pages where they are and faults again; any other fault migrates
 * at once.
 *
 * Context: Any context.
 * Returns: The callbacks.
 */
const struct dev_pagemap_ops *drm_pagemap_pagemap_ops_get(void)
{
	return &drm_pagemap_pagemap_ops;
}
EXPORT_SYMBOL_GPL(drm_pagemap_pagemap_ops_get);

/*
 * One pass of eviction: collect every resident page of the allocation by pfn
 * run, copy the collected ones back and migrate them.
 */
static int drm_pagemap_evict_pass(struct drm_pagemap_record *record,
				  const unsigned long *devmem_pfns,
				  unsigned long *src, unsigned long *dst,
				  struct page **pages,
				  struct drm_pagemap_addr *addrs,
				  unsigned long npages, bool nofail)
{
	unsigned long i, run;
	int err;

	for (i = 0; i < npages; i += run) {
		for (run = 1; i + run < npages; run++) {
			if (devmem_pfns[i + run] != devmem_pfns[i] + run)
				break;
		}
		migrate_device_range(src + i, devmem_pfns[i], run);
	}

	memset(dst, 0, npages * sizeof(*dst));
	memset(pages, 0, npages * sizeof(*pages));
	err = drm_pagemap_copy_back(record, NULL, 0, src, dst, pages, addrs,
				    npages, nofail);
	if (!err)
		migrate_device_pages(src, dst, npages);
	migrate_device_finalize(src, dst, npages);

	return err;
}

/*
 * The work of both eviction modes. Without @nofail, the first error ends it;
 * with it, allocations cannot fail and every other error (a DMA map, pages
 * still busy after the time bound, a failed copy) is retried until the
 * allocation holds no page.
 */
static int __drm_pagemap_evict_to_ram(struct drm_pagemap_devmem *devmem,
				      bool nofail)
{
	unsigned long timeout = jiffies +
		msecs_to_jiffies(DRM_PAGEMAP_EVICT_TIMEOUT_MS);
	size_t entry_size = 3 * sizeof(unsigned long) + sizeof(struct page *) +
			    sizeof(struct drm_pagemap_addr);
	unsigned long npages = devmem->size >> PAGE_SHIFT;
	struct drm_pagemap_record *record;
	struct drm_pagemap_addr *addrs;
	unsigned long *devmem_pfns;
	unsigned long *src, *dst;
	struct page **pages;
	void *buf;
	int err;

	/* Holding the record keeps the allocation from being released. */
	record = drm_pagemap_devmem_record_get(devmem);
	if (!record)
		return 0;

	/* CPU faults may now move pages too, instead of holding them. */
	WRITE_ONCE(devmem->timeslice_expiration, jiffies);

	if (nofail)
		buf = kvcalloc(npages, entry_size, GFP_KERNEL | __GFP_NOFAIL);
	else
		buf = drm_pagemap_kvcalloc(npages, entry_size);
	if (!buf) {
		err = -ENOMEM;
		goto out_put;
	}
	devmem_pfns = buf;
	src = devmem_pfns + npages;
	dst = src + npages;
	pages = buf + 3 * npages * sizeof(*src);
	addrs = buf + npages * (3 * sizeof(*src) + sizeof(*pages));

	while ((err = devmem->ops->populate_devmem_pfn(devmem, npages,
						       devmem_pfns))) {
		if (!nofail)
			goto out_free;
		pr_warn_ratelimited("drm_pagemap: eviction retries populate_devmem_pfn: %d\n",
				    err);
		usleep_range(1000, 2000);
	}

	while (atomic_read(&record->live_pages)) {
		if (time_after(jiffies, timeout)) {
			err = -EBUSY;
			if (!nofail)
				break;
			pr_warn_ratelimited("drm_pagemap: eviction retries %d busy pages\n",
					    atomic_read(&record->live_pages));
		}

		err = drm_pagemap_evict_pass(record, devmem_pfns, src, dst,
					     pages, addrs, npages, nofail);
		if (err && !nofail)
			break;

		/* Let concurrent faulters drop the pages they hold. */
		if (atomic_read(&record->live_pages))
			usleep_range(100, 1000);
	}
	if (nofail)
		err = 0;

out_free:
	kvfree(buf);
out_put:
	drm_pagemap_record_put(record);
	return err;
}

/**
 * drm_pagemap_evict_to_ram() - Move every page of an allocation to system memory
 * @devmem: The allocation.
 *
 * Walks the allocation's device pfns (&drm_pagemap_devmem_ops.populate_devmem_pfn)
 * with migrate_device_range(), without using any virtual address, and copies
 * the pages back with &drm_pagemap_devmem_ops.copy_to_ram. Pages that are
 * busy (being faulted on by the CPU, or being migrated) are retried until
 * none is left, bounded in time (%DRM_PAGEMAP_EVICT_TIMEOUT_MS); so is an
 * allocation that drm_pagemap_migrate_to_devmem() is still migrating into,
 * until that call returns and its pages can move back. Ignores the
 * timeslice: it ends it first, so that CPU faults on the allocation move
 * their pages instead of waiting. The unbind path, which cannot give up, uses
 * drm_pagemap_evict_to_ram_nofail() instead.
 *
 * The caller keeps @devmem valid for the call; &drm_pagemap_devmem_ops.devmem_release
 * may run from within it, when the last page leaves.
 *
 * Context: Process context, no mmap lock needed, no GPU SVM notifier lock held
 * (the migration invalidates the pages' CPU mappings); may sleep.
 * Returns: 0 when the allocation holds no page any more (also when it never
 * held any, or was already released); -EBUSY if some pages stayed busy until
 * the time bound; -ENOMEM on allocation or DMA mapping failure; or the error
 * of &drm_pagemap_devmem_ops.populate_devmem_pfn or
 * &drm_pagemap_devmem_ops.copy_to_ram (the pages not moved stay in @devmem).
 */
int drm_pagemap_evict_to_ram(struct drm_pagemap_devmem *devmem)
{
	return __drm_pagemap_evict_to_ram(devmem, false);
}
EXPORT_SYMBOL_GPL(drm_pagemap_evict_to_ram);

/**
 * drm_pagemap_evict_to_ram_nofail() - Evict an allocation, whatever it takes
 * @devmem: The allocation.
 *
 * drm_pagemap_evict_to_ram() for the unbind path, where memunmap_pages()
 * waits for every device page to be freed and so eviction cannot give up:
 * allocations do not fail (%__GFP_NOFAIL); failed DMA maps,
 * &drm_pagemap_devmem_ops.populate_devmem_pfn errors and pages that stay busy
 * past the time bound are retried without a bound (with a rate-limited
 * warning). &drm_pagemap_devmem_ops.copy_to_ram must not fail here: a failure
 * warns once and is retried.
 *
 * Context: Process context, no mmap lock held; may sleep for as long as a page
 * stays busy. No GPU SVM notifier lock held (the migration invalidates the
 * pages' CPU mappings).
 * Returns: Nothing.
 */
void drm_pagemap_evict_to_ram_nofail(struct drm_pagemap_devmem *devmem)
{
	__drm_pagemap_evict_to_ram(devmem, true);
}
EXPORT_SYMBOL_GPL(drm_pagemap_evict_to_ram_nofail);

/**
 * drm_pagemap_populate_mm() - Make a span of an mm resident in a region
 * @dpagemap: The device memory region.
 * @start: Start of the span.
 * @end: Exclusive end of the span.
 * @mm: The mm of the span.
 * @timeslice_ms: Minimum time the pages stay in device memory before a CPU
 *	fault moves them back.
 *
 * Takes a reference on @mm and its mmap lock for read around
 * &drm_pagemap_ops.populate_mm.
 *
 * Context: Process context, no mmap lock and no GPU SVM notifier lock held;
 * may sleep.
 * Returns: 0 on success, -EINVAL if the span is empty, reversed or not page
 * aligned, -EFAULT if @mm has exited, -EOPNOTSUPP if the region has no
 * &drm_pagemap_ops.populate_mm, else its error.
 */
int drm_pagemap_populate_mm(struct drm_pagemap *dpagemap,
			    unsigned long start, unsigned long end,
			    struct mm_struct *mm, unsigned long timeslice_ms)
{
	int err;

	if (start >= end || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(end))
		return -EINVAL;
	if (!dpagemap->ops->populate_mm)
		return -EOPNOTSUPP;

	if (!mmget_not_zero(mm))
		return -EFAULT;

	mmap_read_lock(mm);
	err = dpagemap->ops->populate_mm(dpagemap, start, end, mm,
					 timeslice_ms);
	mmap_read_unlock(mm);
	mmput(mm);

	return err;
}
EXPORT_SYMBOL_GPL(drm_pagemap_populate_mm);
