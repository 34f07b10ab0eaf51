/* SPDX-License-Identifier: GPL-2.0-only OR MIT */

#ifndef __DRM_PAGEMAP_H__
#define __DRM_PAGEMAP_H__

#include <linux/completion.h>
#include <linux/dma-direction.h>
#include <linux/errno.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/spinlock.h>
#include <linux/time64.h>
#include <linux/types.h>

struct dev_pagemap;
struct dev_pagemap_ops;
struct device;
struct drm_pagemap;
struct drm_pagemap_devmem;
struct drm_pagemap_record;
struct mm_struct;
struct page;

/**
 * enum drm_interconnect_protocol - How a device reaches a page
 *
 * @DRM_INTERCONNECT_SYSTEM: A DMA address of system memory, from the DMA API.
 * @DRM_INTERCONNECT_DRIVER: First driver-private protocol; drivers may use it
 *	and any value above for their own interconnects (e.g. local VRAM).
 */
enum drm_interconnect_protocol {
	DRM_INTERCONNECT_SYSTEM,
	DRM_INTERCONNECT_DRIVER,
};

/**
 * struct drm_pagemap_addr - Address of a chunk of pages for one device
 *
 * One entry covers ``1 << order`` pages that are contiguous for the device.
 */
struct drm_pagemap_addr {
	/** @addr: DMA or device address of the first page. */
	dma_addr_t addr;
	/** @proto: &enum drm_interconnect_protocol the address belongs to. */
	u64 proto : 54;
	/** @order: log2 of the number of pages the entry covers. */
	u64 order : 8;
	/** @dir: &enum dma_data_direction of the mapping. */
	u64 dir : 2;
};

/**
 * drm_pagemap_addr_encode() - Build a &struct drm_pagemap_addr
 * @addr: DMA or device address of the first page.
 * @proto: Interconnect the address belongs to.
 * @order: log2 of the number of pages the entry covers.
 * @dir: DMA direction of the mapping.
 *
 * Context: Any context.
 * Returns: The encoded entry.
 */
static inline struct drm_pagemap_addr
drm_pagemap_addr_encode(dma_addr_t addr, enum drm_interconnect_protocol proto,
			unsigned int order, enum dma_data_direction dir)
{
	return (struct drm_pagemap_addr) {
		.addr = addr,
		.proto = proto,
		.order = order,
		.dir = dir,
	};
}

/**
 * struct drm_pagemap_ops - Callbacks of a device memory region
 */
struct drm_pagemap_ops {
	/**
	 * @device_map: Map a device page of this region for access by @dev.
	 *
	 * The returned entry must carry @dir: the GPU SVM helpers read the
	 * access a mapping allows from it.
	 *
	 * @dev is the device of the GPU VM mapping the page: this region's own
	 * device, or a peer of its owner group that reaches it over an
	 * interconnect. @order is log2 of the number of pages to map from
	 * @page on, @dir the access wanted. Called with the GPU SVM notifier lock held: must not
	 * sleep to allocate memory. Returns the address; on failure its
	 * &drm_pagemap_addr.addr is %DMA_MAPPING_ERROR.
	 */
	struct drm_pagemap_addr (*device_map)(struct drm_pagemap *dpagemap,
					      struct device *dev,
					      struct page *page,
					      unsigned int order,
					      enum dma_data_direction dir);

	/**
	 * @device_unmap: Undo @device_map for @addr. Same context as
	 * @device_map.
	 */
	void (*device_unmap)(struct drm_pagemap *dpagemap,
			     struct device *dev,
			     struct drm_pagemap_addr addr);

	/**
	 * @populate_mm: Make [@start, @end) of @mm resident in this region,
	 * best effort.
	 *
	 * Called with a reference on @mm and its mmap lock held for read.
	 * @timeslice_ms is the minimum time the pages should stay in device
	 * memory before a CPU fault may move them back. Returns 0 or a
	 * negative error code.
	 */
	int (*populate_mm)(struct drm_pagemap *dpagemap,
			   unsigned long start, unsigned long end,
			   struct mm_struct *mm,
			   unsigned long timeslice_ms);

	/**
	 * @destroy: Free the region when its last reference is dropped
	 * (optional).
	 *
	 * May run in atomic context: the last reference is often dropped when
	 * the last device page is freed under a page-table lock. Defer
	 * sleeping work.
	 */
	void (*destroy)(struct drm_pagemap *dpagemap);
};

/**
 * struct drm_pagemap - A device memory region usable for shared virtual memory
 *
 * Tracks device memory physically: one per device-private &struct dev_pagemap,
 * shared by every GPU SVM instance that maps its pages.
 */
struct drm_pagemap {
	/** @ops: Callbacks of the region. */
	const struct drm_pagemap_ops *ops;
	/** @dev: Device that owns the memory. */
	struct device *dev;
	/** @pagemap: The device-private pages of the region. */
	struct dev_pagemap *pagemap;
	/**
	 * @ref: Reference count; the region lives while the driver, a mapped
	 * device page or a device memory allocation holds a reference.
	 */
	struct kref ref;
};

/**
 * struct drm_pagemap_devmem_ops - Callbacks of a device memory allocation
 *
 * @populate_devmem_pfn, @copy_to_devmem and @copy_to_ram are required and
 * may sleep; @devmem_release is optional and may not. They run with the pages
 * they migrate locked, inside the mmap lock, and may be called from another
 * device's or another GPU VM's fault: they never take a GPU SVM driver lock
 * (see the lock order in the GPU SVM "Locking" documentation).
 */
struct drm_pagemap_devmem_ops {
	/**
	 * @devmem_release: The allocation holds no device page any more and
	 * the migrating caller's reference is gone (optional).
	 *
	 * Called exactly once per drm_pagemap_migrate_to_devmem(), right after
	 * &drm_pagemap_devmem.detached completed. May run in atomic context:
	 * the last device page is often freed by zap_pte_range() under a
	 * page-table lock. Defer sleeping work (e.g. to a worker).
	 */
	void (*devmem_release)(struct drm_pagemap_devmem *devmem);

	/**
	 * @populate_devmem_pfn: Fill @pfn with the @npages device pfns backing
	 * the allocation, in allocation order.
	 *
	 * @npages is &drm_pagemap_devmem.size >> %PAGE_SHIFT. May be asked
	 * again for the same allocation and must then return the same pfns.
	 * The pfns must stay reserved for the allocation until
	 * @devmem_release. The library initialises the pages. Returns 0 or a
	 * negative error code.
	 */
	int (*populate_devmem_pfn)(struct drm_pagemap_devmem *devmem,
				   unsigned long npages, unsigned long *pfn);

	/**
	 * @copy_to_devmem: Copy system pages into device pages.
	 *
	 * ``pages[i]`` is the destination device page, ``pagemap_addr[i]`` the
	 * DMA address (for &drm_pagemap_devmem.dev, %DMA_TO_DEVICE) of its
	 * system source page. Entries with a NULL page are holes to skip.
	 * Returns 0 or a negative error code, once the copy is complete and
	 * visible.
	 */
	int (*copy_to_devmem)(struct page **pages,
			      struct drm_pagemap_addr *pagemap_addr,
			      unsigned long npages);

	/**
	 * @copy_to_ram: Copy device pages into system pages.
	 *
	 * ``pages[i]`` is the source device page, ``pagemap_addr[i]`` the DMA
	 * address (for &drm_pagemap_devmem.dev, %DMA_FROM_DEVICE) of its
	 * system destination page. Entries with a NULL page are holes to skip.
	 * Returns 0 or a negative error code, once the copy is complete. Must
	 * not fail when called from drm_pagemap_evict_to_ram_nofail().
	 */
	int (*copy_to_ram)(struct page **pages,
			   struct drm_pagemap_addr *pagemap_addr,
			   unsigned long npages);
};

/**
 * struct drm_pagemap_devmem - One device memory allocation
 *
 * Embedded by the driver in its allocation (e.g. a buffer object) and set up
 * with drm_pagemap_devmem_init(). Every device page migrated into it carries
 * a reference to the allocation's record, so the allocation is tracked
 * physically, by its pages, and never by virtual address.
 */
struct drm_pagemap_devmem {
	/** @dev: Device that DMA-maps system pages for the copies. */
	struct device *dev;
	/** @mm: The mm the allocation was made for (no reference held). */
	struct mm_struct *mm;
	/** @ops: Callbacks of the allocation. */
	const struct drm_pagemap_devmem_ops *ops;
	/** @dpagemap: The device memory region the allocation lives in. */
	struct drm_pagemap *dpagemap;
	/** @size: Size of the allocation in bytes (page aligned). */
	size_t size;
	/**
	 * @detached: Completed right before &drm_pagemap_devmem_ops.devmem_release
	 * is called.
	 */
	struct completion detached;
	/**
	 * @timeslice_expiration: Jiffies until which a user-mode CPU fault
	 * does not move the pages back to system memory.
	 */
	unsigned long timeslice_expiration;
	/**
	 * @lock: Protects @record against the allocation's release (private
	 * to drm_pagemap).
	 */
	spinlock_t lock;
	/**
	 * @record: The per-allocation record its device pages point to while
	 * it lives (private to drm_pagemap).
	 */
	struct drm_pagemap_record *record;
};

/**
 * drm_pagemap_devmem_init() - Set up a device memory allocation
 * @devmem: Pointer to the allocation, embedded in the driver's object.
 * @dev: Device that DMA-maps system pages for the copies.
 * @mm: The mm the allocation is made for.
 * @ops: Callbacks of the allocation.
 * @dpagemap: The region the allocation lives in.
 * @size: Size of the allocation in bytes (page aligned).
 *
 * Call before drm_pagemap_migrate_to_devmem(); from then on the allocation
 * belongs to its device pages until &drm_pagemap_devmem_ops.devmem_release.
 * The same with or without device-private memory, so that the stub of
 * drm_pagemap_migrate_to_devmem() releases it like the real one.
 *
 * Context: Any context.
 * Returns: Nothing.
 */
static inline void
drm_pagemap_devmem_init(struct drm_pagemap_devmem *devmem,
			struct device *dev, struct mm_struct *mm,
			const struct drm_pagemap_devmem_ops *ops,
			struct drm_pagemap *dpagemap, size_t size)
{
	devmem->dev = dev;
	devmem->mm = mm;
	devmem->ops = ops;
	devmem->dpagemap = dpagemap;
	devmem->size = size;
	init_completion(&devmem->detached);
	devmem->timeslice_expiration = jiffies;
	spin_lock_init(&devmem->lock);
	devmem->record = NULL;
}

/*
 * The longest timeslice drm_pagemap_migrate_to_devmem() accepts: a user-mode
 * CPU access to the pages waits for at most this long.
 */
#define DRM_PAGEMAP_TIMESLICE_MAX_MS	(60 * MSEC_PER_SEC)

#if IS_ENABLED(CONFIG_DEVICE_PRIVATE)

int drm_pagemap_init(struct drm_pagemap *dpagemap, struct dev_pagemap *pagemap,
		     struct device *dev, const struct drm_pagemap_ops *ops);
struct drm_pagemap *drm_pagemap_get(struct drm_pagemap *dpagemap);
void drm_pagemap_put(struct drm_pagemap *dpagemap);
struct drm_pagemap *drm_pagemap_page_to_dpagemap(struct page *page);
int drm_pagemap_migrate_to_devmem(struct drm_pagemap_devmem *devmem,
				  struct mm_struct *mm,
				  unsigned long start, unsigned long end,
				  unsigned long timeslice_ms,
				  void *pgmap_owner);
int drm_pagemap_evict_to_ram(struct drm_pagemap_devmem *devmem);
void drm_pagemap_evict_to_ram_nofail(struct drm_pagemap_devmem *devmem);
const struct dev_pagemap_ops *drm_pagemap_pagemap_ops_get(void);
int drm_pagemap_populate_mm(struct drm_pagemap *dpagemap,
			    unsigned long start, unsigned long end,
			    struct mm_struct *mm, unsigned long timeslice_ms);

#else

/*
 * Without device-private memory no device page can exist, and nothing can
 * migrate: every call links, and those that would migrate fail with
 * -EOPNOTSUPP.
 */
static inline int drm_pagemap_init(struct drm_pagemap *dpagemap,
				   struct dev_pagemap *pagemap,
				   struct device *dev,
				   const struct drm_pagemap_ops *ops)
{
	return -EOPNOTSUPP;
}

static inline struct drm_pagemap *drm_pagemap_get(struct drm_pagemap *dpagemap)
{
	return dpagemap;
}

static inline void drm_pagemap_put(struct drm_pagemap *dpagemap)
{
}

static inline struct drm_pagemap *
drm_pagemap_page_to_dpagemap(struct page *page)
{
	return NULL;
}

/* The caller's reference is consumed here too: the allocation is released. */
static inline int
drm_pagemap_migrate_to_devmem(struct drm_pagemap_devmem *devmem,
			      struct mm_struct *mm,
			      unsigned long start, unsigned long end,
			      unsigned long timeslice_ms, void *pgmap_owner)
{
	complete_all(&devmem->detached);
	if (devmem->ops && devmem->ops->devmem_release)
		devmem->ops->devmem_release(devmem);
	return -EOPNOTSUPP;
}

static inline int drm_pagemap_evict_to_ram(struct drm_pagemap_devmem *devmem)
{
	return 0;
}

static inline void
drm_pagemap_evict_to_ram_nofail(struct drm_pagemap_devmem *devmem)
{
}

static inline const struct dev_pagemap_ops *drm_pagemap_pagemap_ops_get(void)
{
	return NULL;
}

static inline int drm_pagemap_populate_mm(struct drm_pagemap *dpagemap,
					  unsigned long start,
					  unsigned long end,
					  struct mm_struct *mm,
					  unsigned long timeslice_ms)
{
	return -EOPNOTSUPP;
}

#endif /* IS_ENABLED(CONFIG_DEVICE_PRIVATE) */

#endif /* __DRM_PAGEMAP_H__ */
