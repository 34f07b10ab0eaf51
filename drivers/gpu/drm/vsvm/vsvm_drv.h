/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vsvm: a virtual GPU with recoverable page faults, the reference driver of
 * the DRM GPU SVM helpers.
 */

#ifndef __VSVM_DRV_H__
#define __VSVM_DRV_H__

#include <linux/atomic.h>
#include <linux/gpu_buddy.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/maple_tree.h>
#include <linux/memremap.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>
#include <drm/drm_pagemap_util.h>

struct iommu_domain;
struct vsvm_alloc;

/**
 * struct vsvm_vram_page - What the emulation knows about one device page
 */
struct vsvm_vram_page {
	/** @backing: System page holding the data, NULL while unused. */
	struct page *backing;
	/** @alloc: The allocation the page belongs to, NULL while unused. */
	struct vsvm_alloc *alloc;
};

/**
 * struct vsvm_stats - Counters of a device, reported by DRM_IOCTL_VSVM_STATS
 */
struct vsvm_stats {
	/** @gpu_faults: GPU page faults handled. */
	atomic64_t gpu_faults;
	/** @fault_retries: Passes of the fault loop that went round. */
	atomic64_t fault_retries;
	/** @migrations_to_vram: Successful migrations into VRAM. */
	atomic64_t migrations_to_vram;
	/** @migrations_to_ram: Copies back to system memory. */
	atomic64_t migrations_to_ram;
	/** @bytes_to_vram: Bytes copied into VRAM. */
	atomic64_t bytes_to_vram;
	/** @bytes_to_ram: Bytes copied back to system memory. */
	atomic64_t bytes_to_ram;
	/** @evictions: Allocations or ranges evicted. */
	atomic64_t evictions;
	/** @iommu_faults: Accesses whose IOVA did not translate as committed. */
	atomic64_t iommu_faults;
	/** @stale_iovas: Released IOVAs that still translated. */
	atomic64_t stale_iovas;
	/** @iova_checks: Released IOVAs checked. */
	atomic64_t iova_checks;
	/** @jobs: Jobs run. */
	atomic64_t jobs;
};

/**
 * struct vsvm_vram - The emulated VRAM of a device
 *
 * Device-private pages (%MEMORY_DEVICE_PRIVATE) whose data lives in system
 * pages, one per device page, allocated while the device page is in use. The
 * device reaches a device page through its offset in VRAM; only the copy
 * engine and the GPU engine turn that offset into the backing page.
 */
struct vsvm_vram {
	/** @pagemap: The device-private pages. */
	struct dev_pagemap pagemap;
	/** @dpagemap: The helpers' view of the region. */
	struct drm_pagemap dpagemap;
	/** @pfn_first: First device pfn. */
	unsigned long pfn_first;
	/** @npages: Pages usable (the module parameter), at most the region. */
	unsigned long npages;
	/** @buddy_lock: Protects @buddy. */
	struct mutex buddy_lock;
	/** @buddy: Allocator of VRAM offsets. */
	struct gpu_buddy buddy;
	/** @lock: Protects @pages and @lru; taken in atomic context too. */
	spinlock_t lock;
	/** @pages: Each device page's backing and allocation. */
	struct vsvm_vram_page *pages;
	/** @lru: Allocations holding device pages, least recently used first. */
	struct list_head lru;
	/** @release_list: Released allocations whose VRAM is not free yet. */
	struct llist_head release_list;
	/** @release_work: Gives released allocations' VRAM back. */
	struct work_struct release_work;
	/** @pages_used: VRAM pages allocated. */
	atomic64_t pages_used;
};

/**
 * struct vsvm_device - One virtual GPU
 */
struct vsvm_device {
	/** @drm: The DRM device. */
	struct drm_device drm;
	/** @domain: The device's IOMMU domain, NULL when DMA is direct. */
	struct iommu_domain *domain;
	/** @peer: The device on the driver's owner list. */
	struct drm_pagemap_peer peer;
	/**
	 * @owner: The device-private owner of the device's VRAM and GPU VMs:
	 * shared with the other devices bound with the owner_group parameter
	 * set, which then map each other's VRAM in place.
	 */
	void *owner;
	/** @grouped: Bound with the owner_group parameter set. */
	bool grouped;
	/** @vram: Its emulated VRAM. */
	struct vsvm_vram vram;
	/** @wq: Where jobs run. */
	struct workqueue_struct *wq;
	/** @stats: Counters. */
	struct vsvm_stats stats;
	/** @vms_lock: Protects @vms. */
	struct mutex vms_lock;
	/** @vms: Every VM of the device, closed or not, until freed. */
	struct list_head vms;
};

/**
 * struct vsvm_alloc - One VRAM allocation, the backing of migrated ranges
 */
struct vsvm_alloc {
	/** @devmem: The helpers' allocation. */
	struct drm_pagemap_devmem devmem;
	/** @vram: The VRAM it lives in. */
	struct vsvm_vram *vram;
	/** @ref: The helpers hold one until devmem_release; evictors briefly. */
	struct kref ref;
	/** @blocks: Buddy blocks, in VRAM offset order of the device pfns. */
	struct list_head blocks;
	/** @npages: Pages. */
	unsigned long npages;
	/** @populated: Device pages handed out (backing allocated). */
	bool populated;
	/** @lru_link: Entry in &vsvm_vram.lru, under &vsvm_vram.lock. */
	struct list_head lru_link;
	/** @release_node: Entry in &vsvm_vram.release_list. */
	struct llist_node release_node;
};

/* A GPU page-table entry is valid / writable / in VRAM / in a peer's VRAM. */
#define VSVM_PTE_VALID		BIT(0)
#define VSVM_PTE_WRITE		BIT(1)
#define VSVM_PTE_VRAM		BIT(2)
#define VSVM_PTE_PEER		BIT(3)

/**
 * struct vsvm_pte - One 4K entry of a GPU page table
 *
 * @addr is what the device uses: an IOVA (or a physical address without
 * IOMMU) for system pages, an offset in VRAM for device pages. @phys is the
 * physical address @addr translated to when the entry was written: the GPU
 * engine checks every access against it. A device page may be in a peer's
 * VRAM (devices of one owner group): @vram says whose.
 */
struct vsvm_pte {
	/** @addr: Device address of the page. */
	dma_addr_t addr;
	/** @vram: The VRAM a device page is in, NULL for a system page. */
	struct vsvm_vram *vram;
	/** @phys: Physical address at commit (system pages). */
	phys_addr_t phys;
	/** @flags: VSVM_PTE_*. */
	unsigned long flags;
};

/**
 * struct vsvm_range - A GPU SVM range of a vsvm VM
 */
struct vsvm_range {
	/** @base: The helpers' range. */
	struct drm_gpusvm_range base;
	/** @ptes: Its page-table entries, allocated at first commit. */
	struct vsvm_pte *ptes;
	/** @gc_link: Entry in &vsvm_vm.gc_list, under &vsvm_vm.gc_lock. */
	struct list_head gc_link;
	/**
	 * @removed: Taken off the garbage collector's list for removal, under
	 * &vsvm_vm.gc_lock: an invalidation that still finds the range in the
	 * tree must not queue it again.
	 */
	bool removed;
};

/**
 * struct vsvm_vm - A GPU VM mirroring one process's address space
 */
struct vsvm_vm {
	/** @vdev: The device. */
	struct vsvm_device *vdev;
	/** @ref: The file's VM table and each job hold one. */
	struct kref ref;
	/** @link: Entry in &vsvm_device.vms. */
	struct list_head link;
	/** @va_end: End of the GPU VA space: the mm's task size. */
	unsigned long va_end;
	/** @gpusvm: The helpers' instance. */
	struct drm_gpusvm gpusvm;
	/** @lock: The driver lock: faults, prefetches, range removal. */
	struct mutex lock;
	/**
	 * @pt: The GPU page table: GPU page index to &struct vsvm_pte, stored
	 * and erased under the notifier lock, which the GPU engine holds
	 * across each access.
	 */
	struct xarray pt;
	/** @pages_mapped: Entries in @pt. */
	atomic64_t pages_mapped;
	/** @vram_pages_mapped: Entries in @pt that point into VRAM. */
	atomic64_t vram_pages_mapped;
	/** @peer_pages_mapped: Of those, entries into a peer's VRAM. */
	atomic64_t peer_pages_mapped;
	/**
	 * @attrs: Attributes of GPU VA spans (DRM_IOCTL_VSVM_MADVISE):
	 * xa_mk_value() of VSVM_ATTR_*(); absent means the defaults.
	 */
	struct maple_tree attrs;
	/** @ranges: Ranges allocated and not freed. */
	atomic64_t ranges;
	/** @gc_lock: Protects @gc_list. */
	spinlock_t gc_lock;
	/** @gc_list: Ranges the CPU unmapped, waiting for removal. */
	struct list_head gc_list;
	/** @gc_work: Runs the garbage collector. */
	struct work_struct gc_work;
	/**
	 * @closing: Set under @lock when the VM goes away: no job or prefetch
	 * starts, and running ones end with -ECANCELED.
	 */
	bool closing;
	/** @active_jobs: Jobs and prefetches started and not finished. */
	atomic_t active_jobs;
	/** @jobs_done: Woken when @active_jobs drops to zero. */
	wait_queue_head_t jobs_done;
};

/**
 * struct vsvm_file - Per-open-file state
 */
struct vsvm_file {
	/** @vms: The file's VMs by id. */
	struct xarray vms;
};

static inline struct vsvm_device *to_vsvm_device(struct drm_device *drm)
{
	return container_of(drm, struct vsvm_device, drm);
}

/* An attribute entry of &vsvm_vm.attrs. */
#define VSVM_ATTR(placement, atomic)	((placement) | (atomic) << 4)
#define VSVM_ATTR_PLACEMENT(attr)	((attr) & 0xf)
#define VSVM_ATTR_ATOMIC(attr)		((attr) >> 4 & 0xf)

/* What a GPU fault is for. */
#define VSVM_FAULT_WRITE	BIT(0)	/* the GPU writes */
#define VSVM_FAULT_VRAM		BIT(1)	/* the job asks for VRAM */
#define VSVM_FAULT_ATOMIC	BIT(2)	/* an atomic access */

/* vsvm_vram.c */
int vsvm_vram_init(struct vsvm_device *vdev, unsigned long size);
void vsvm_vram_fini(struct vsvm_device *vdev);
struct vsvm_alloc *vsvm_vram_alloc(struct vsvm_device *vdev,
				   struct mm_struct *mm, unsigned long size);
void vsvm_vram_alloc_put(struct vsvm_alloc *alloc);
struct page *vsvm_vram_backing(struct vsvm_vram *vram, dma_addr_t offset);
phys_addr_t vsvm_translate(struct vsvm_device *vdev, dma_addr_t addr);

/* vsvm_svm.c */
struct vsvm_vm *vsvm_vm_create(struct vsvm_device *vdev);
void vsvm_vm_close(struct vsvm_vm *vm);
void vsvm_vm_close_all(struct vsvm_device *vdev);
int vsvm_vm_begin(struct vsvm_vm *vm);
void vsvm_vm_end(struct vsvm_vm *vm);
struct vsvm_vm *vsvm_vm_get(struct vsvm_vm *vm);
void vsvm_vm_put(struct vsvm_vm *vm);
int vsvm_gpu_fault(struct vsvm_vm *vm, unsigned long addr, unsigned int flags,
		   unsigned long timeslice_ms);
unsigned long vsvm_vm_attr(struct vsvm_vm *vm, unsigned long addr);
int vsvm_madvise(struct vsvm_vm *vm, unsigned long start, unsigned long end,
		 u32 placement, u32 atomic);
int vsvm_prefetch(struct vsvm_vm *vm, unsigned long start, unsigned long end,
		  bool vram, unsigned long timeslice_ms);

/* vsvm_job.c */
struct drm_vsvm_exec;
struct vsvm_job;
struct vsvm_job *vsvm_job_submit(struct vsvm_vm *vm,
				 const struct drm_vsvm_exec *args);
int vsvm_job_wait(struct vsvm_job *job, struct drm_vsvm_exec *args);

#endif /* __VSVM_DRV_H__ */
