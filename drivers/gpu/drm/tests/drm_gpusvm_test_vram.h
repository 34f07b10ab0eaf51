/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Emulated VRAM for the GPU SVM KUnit suites: device-private pages, each
 * backed by a system page that holds its data.
 */

#ifndef __DRM_GPUSVM_TEST_VRAM_H__
#define __DRM_GPUSVM_TEST_VRAM_H__

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/spinlock.h>

#include <drm/drm_pagemap.h>

struct device;
struct kunit;

/**
 * struct test_vram - One emulated device memory region
 *
 * The device pages come from memremap_pages(MEMORY_DEVICE_PRIVATE) over a
 * free physical range; the data of device page i lives in @backing[i], a
 * system page allocated when the page is handed out, so copies and GPU
 * accesses are real memory accesses.
 */
struct test_vram {
	/** @test: The KUnit case. */
	struct kunit *test;
	/** @pagemap: The device-private pages. */
	struct dev_pagemap pagemap;
	/** @dpagemap: The helpers' view of the region. */
	struct drm_pagemap dpagemap;
	/** @res: The physical range of the pages. */
	struct resource *res;
	/** @pfn_first: First device pfn. */
	unsigned long pfn_first;
	/** @npages: Number of device pages. */
	unsigned long npages;
	/** @lock: Protects @used and @backing (taken in atomic context too). */
	spinlock_t lock;
	/** @used: Allocator bitmap, one bit per device page. */
	unsigned long *used;
	/** @backing: System page holding each device page's data, or NULL. */
	struct page **backing;
	/** @live: Allocations not yet released, protected by @lock. */
	struct list_head live;

	/** @pages_in_use: Device pages handed out and not yet released. */
	atomic_t pages_in_use;
	/** @allocations: Allocations live (devmem_release not yet run). */
	atomic_t allocations;
	/** @releases: devmem_release calls, for exactly-once checks. */
	atomic_t releases;
	/** @device_maps: device_map calls not yet undone by device_unmap. */
	atomic_t device_maps;
	/** @device_map_calls: device_map calls that mapped, ever. */
	atomic_t device_map_calls;

	/** @fail_populate: Make the next populate_devmem_pfn fail. */
	bool fail_populate;
	/** @fail_copy_to_devmem: Make the next copy_to_devmem fail. */
	bool fail_copy_to_devmem;
	/** @fail_copy_to_ram: Make the next copy_to_ram fail. */
	bool fail_copy_to_ram;
	/** @fail_device_map: Make the next device_map fail. */
	bool fail_device_map;
	/** @exhausted: populate_devmem_pfn finds no free page. */
	bool exhausted;
	/**
	 * @populate_delay_ms: How long the next populate_devmem_pfn sleeps
	 * first (cleared by that call).
	 */
	unsigned int populate_delay_ms;
	/** @populate_entered: Completed when a delayed populate starts. */
	struct completion populate_entered;
	/** @copy_to_ram_delay_ms: How long each copy_to_ram sleeps first. */
	unsigned int copy_to_ram_delay_ms;
	/** @copy_to_ram_entered: Completed when a delayed copy_to_ram starts. */
	struct completion copy_to_ram_entered;
	/** @copy_to_ram_calls: copy_to_ram calls. */
	atomic_t copy_to_ram_calls;
	/** @atomic_releases: devmem_release calls made in atomic context. */
	atomic_t atomic_releases;
};

/** struct test_vram_alloc - One allocation of emulated VRAM */
struct test_vram_alloc {
	/** @devmem: The helpers' allocation. */
	struct drm_pagemap_devmem devmem;
	/** @vram: The region. */
	struct test_vram *vram;
	/** @first: Index of the first page in the region, or -1 before populate. */
	long first;
	/** @npages: Number of pages. */
	unsigned long npages;
	/** @link: Entry in &test_vram.live. */
	struct list_head link;
};

struct test_vram *test_vram_create(struct kunit *test, void *owner);
struct test_vram *test_vram_create_on(struct kunit *test, void *owner,
				      unsigned long size, struct device *dev);
struct test_vram *test_vram_create_sized(struct kunit *test, void *owner,
					 unsigned long size);
void test_vram_destroy(struct test_vram *vram);
struct test_vram_alloc *test_vram_alloc(struct test_vram *vram,
					struct mm_struct *mm, size_t size);
int test_vram_migrate(struct test_vram *vram, struct mm_struct *mm,
		      unsigned long start, unsigned long end,
		      unsigned long timeslice_ms,
		      struct test_vram_alloc **allocp);
bool test_vram_is_device_page(struct test_vram *vram, struct mm_struct *mm,
			      unsigned long addr);
void test_vram_expect_clean(struct test_vram *vram);
void test_vram_release_alloc(struct test_vram_alloc *alloc);

#endif /* __DRM_GPUSVM_TEST_VRAM_H__ */
