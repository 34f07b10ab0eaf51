/* SPDX-License-Identifier: GPL-2.0-only OR MIT */

#ifndef __DRM_PAGEMAP_H__
#define __DRM_PAGEMAP_H__

#include <linux/dma-direction.h>
#include <linux/kref.h>
#include <linux/types.h>

struct dev_pagemap;
struct device;
struct drm_pagemap;
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
	 * @order is log2 of the number of pages to map from @page on, @dir the
	 * access wanted. Called with the GPU SVM notifier lock held: must not
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

#endif /* __DRM_PAGEMAP_H__ */
