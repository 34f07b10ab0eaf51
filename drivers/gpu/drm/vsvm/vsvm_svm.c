// SPDX-License-Identifier: GPL-2.0-only
/*
 * GPU VMs of vsvm: the GPU page table, the invalidation callback, the
 * garbage collector and the GPU fault handler, all on the DRM GPU SVM
 * helpers.
 */

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_print.h>
#include <drm/vsvm_drm.h>

#include "vsvm_drv.h"

/* Passes of the fault loop before it gives up with the last error. */
#define VSVM_FAULT_TRIES	16

static const unsigned long vsvm_chunk_sizes[] = { SZ_2M, SZ_64K, SZ_4K };

static struct vsvm_vm *vsvm_gpusvm_to_vm(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct vsvm_vm, gpusvm);
}

static struct vsvm_range *to_vsvm_range(struct drm_gpusvm_range *range)
{
	return container_of(range, struct vsvm_range, base);
}

static unsigned long vsvm_range_npages(struct drm_gpusvm_range *range)
{
	return drm_gpusvm_range_size(range) >> PAGE_SHIFT;
}

/*
 * Released IOVAs must not translate any more: a GPU that kept using one
 * would reach whatever the IOMMU maps there next. Checked right after the
 * helpers unmapped a range's pages, against the physical address recorded
 * at commit; clears the range's entries. The IOVA allocator may hand a freed
 * IOVA out again at once, and another VM of the device may map the same page
 * with it meanwhile: the shared zero page, which every VM maps, is skipped;
 * for another page that takes two VMs mapping it at the very moment.
 */
static void vsvm_range_check_released(struct vsvm_vm *vm,
				      struct vsvm_range *vrange)
{
	struct vsvm_device *vdev = vm->vdev;
	unsigned long i, n = vsvm_range_npages(&vrange->base);
	struct vsvm_pte *pte;

	if (!vrange->ptes)
		return;
	for (i = 0; i < n; i++) {
		pte = &vrange->ptes[i];
		if (!(pte->flags & VSVM_PTE_VALID))
			continue;
		if (vdev->domain && !(pte->flags & VSVM_PTE_VRAM) &&
		    !is_zero_pfn(PHYS_PFN(pte->phys))) {
			atomic64_inc(&vdev->stats.iova_checks);
			if (vsvm_translate(vdev, pte->addr) == pte->phys) {
				atomic64_inc(&vdev->stats.stale_iovas);
				drm_err_ratelimited(&vdev->drm,
						    "IOVA %pad still maps %pa after unmap\n",
						    &pte->addr, &pte->phys);
			}
		}
		pte->flags = 0;
	}
}

/* Remove the GPU PTEs of a range; notifier lock held for write. */
static void vsvm_zap_range(struct vsvm_vm *vm, struct drm_gpusvm_range *range)
{
	unsigned long index = drm_gpusvm_range_start(range) >> PAGE_SHIFT;
	unsigned long last = (drm_gpusvm_range_end(range) >> PAGE_SHIFT) - 1;
	struct vsvm_pte *pte;

	lockdep_assert_held_write(&vm->gpusvm.notifier_lock);

	xa_for_each_range(&vm->pt, index, pte, index, last) {
		xa_erase(&vm->pt, index);
		atomic64_dec(&vm->pages_mapped);
		if (pte->flags & VSVM_PTE_VRAM)
			atomic64_dec(&vm->vram_pages_mapped);
		if (pte->flags & VSVM_PTE_PEER)
			atomic64_dec(&vm->peer_pages_mapped);
	}
}

static struct drm_gpusvm_range *vsvm_range_alloc(struct drm_gpusvm *gpusvm)
{
	struct vsvm_vm *vm = vsvm_gpusvm_to_vm(gpusvm);
	struct vsvm_range *vrange;

	vrange = kzalloc(sizeof(*vrange), GFP_KERNEL);
	if (!vrange)
		return NULL;
	INIT_LIST_HEAD(&vrange->gc_link);
	atomic64_inc(&vm->ranges);
	return &vrange->base;
}

static void vsvm_range_free(struct drm_gpusvm_range *range)
{
	struct vsvm_vm *vm = vsvm_gpusvm_to_vm(range->gpusvm);
	struct vsvm_range *vrange = to_vsvm_range(range);

	/* Removal unmapped the pages: check the IOVAs still recorded. */
	vsvm_range_check_released(vm, vrange);
	atomic64_dec(&vm->ranges);
	kvfree(vrange->ptes);
	kfree(vrange);
}

static void vsvm_queue_gc(struct vsvm_vm *vm, struct drm_gpusvm_range *range)
{
	struct vsvm_range *vrange = to_vsvm_range(range);

	spin_lock(&vm->gc_lock);
	if (!vrange->removed && list_empty(&vrange->gc_link)) {
		drm_gpusvm_range_get(range);
		list_add_tail(&vrange->gc_link, &vm->gc_list);
	}
	spin_unlock(&vm->gc_lock);
	queue_work(system_unbound_wq, &vm->gc_work);
}

/* gpusvm-doc: invalidate */
/*
 * The CPU mapping changed: zap the GPU PTEs of every range it touches, over
 * the whole range, then let the helpers unmap the pages. A range the CPU
 * unmapped goes to the garbage collector.
 */
static void vsvm_invalidate(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_notifier *notifier,
			    const struct mmu_notifier_range *mmu_range)
{
	struct vsvm_vm *vm = vsvm_gpusvm_to_vm(gpusvm);
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct drm_gpusvm_range *range;

	drm_gpusvm_for_each_range(range, notifier, mmu_range->start,
				  mmu_range->end) {
		vsvm_zap_range(vm, range);
		drm_gpusvm_range_unmap_pages(gpusvm, range, &ctx);
		vsvm_range_check_released(vm, to_vsvm_range(range));
		if (mmu_range->event == MMU_NOTIFY_UNMAP) {
			drm_gpusvm_range_set_unmapped(range, mmu_range);
			vsvm_queue_gc(vm, range);
		}
	}
}

static const struct drm_gpusvm_ops vsvm_gpusvm_ops = {
	.range_alloc = vsvm_range_alloc,
	.range_free = vsvm_range_free,
	.invalidate = vsvm_invalidate,
};

/* gpusvm-doc: end invalidate */

/* gpusvm-doc: garbage-collector */
/*
 * Take the next range off the garbage collector's list, marked so that an
 * invalidation that still finds it in the tree does not queue it again.
 */
static struct vsvm_range *vsvm_gc_pop(struct vsvm_vm *vm)
{
	struct vsvm_range *vrange;

	spin_lock(&vm->gc_lock);
	vrange = list_first_entry_or_null(&vm->gc_list, struct vsvm_range,
					  gc_link);
	if (vrange) {
		list_del_init(&vrange->gc_link);
		vrange->removed = true;
	}
	spin_unlock(&vm->gc_lock);
	return vrange;
}

/* Remove the ranges the CPU unmapped; driver lock held. */
static void vsvm_garbage_collect(struct vsvm_vm *vm)
{
	struct vsvm_range *vrange;

	lockdep_assert_held(&vm->lock);

	while ((vrange = vsvm_gc_pop(vm))) {
		/* The invalidation zapped and unmapped it already. */
		drm_gpusvm_range_remove(&vm->gpusvm, &vrange->base);
		drm_gpusvm_range_put(&vrange->base);
	}
}

static void vsvm_gc_work(struct work_struct *work)
{
	struct vsvm_vm *vm = container_of(work, struct vsvm_vm, gc_work);

	mutex_lock(&vm->lock);
	if (!READ_ONCE(vm->closing))
		vsvm_garbage_collect(vm);
	mutex_unlock(&vm->lock);
}

/* gpusvm-doc: end garbage-collector */

/* Zap a range's PTEs, then let its mapping go: never the other way round. */
static void vsvm_unmap_range(struct vsvm_vm *vm,
			     struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_ctx ctx = {};

	down_write(&vm->gpusvm.notifier_lock);
	vsvm_zap_range(vm, range);
	up_write(&vm->gpusvm.notifier_lock);
	drm_gpusvm_range_unmap_pages(&vm->gpusvm, range, &ctx);
	down_write(&vm->gpusvm.notifier_lock);
	vsvm_range_check_released(vm, to_vsvm_range(range));
	up_write(&vm->gpusvm.notifier_lock);
}

/*
 * Zap, unmap and remove a range now, unless the garbage collector has it;
 * driver lock held.
 */
static void vsvm_remove_range(struct vsvm_vm *vm,
			      struct drm_gpusvm_range *range)
{
	struct vsvm_range *vrange = to_vsvm_range(range);
	bool remove;

	lockdep_assert_held(&vm->lock);

	vsvm_unmap_range(vm, range);
	spin_lock(&vm->gc_lock);
	remove = !vrange->removed && list_empty(&vrange->gc_link);
	if (remove)
		vrange->removed = true;
	spin_unlock(&vm->gc_lock);
	if (remove)
		drm_gpusvm_range_remove(&vm->gpusvm, range);
}

/* Reserve what a commit needs, so that the commit does not allocate. */
static int vsvm_prepare_commit(struct vsvm_vm *vm,
			       struct drm_gpusvm_range *range)
{
	struct vsvm_range *vrange = to_vsvm_range(range);
	unsigned long index = drm_gpusvm_range_start(range) >> PAGE_SHIFT;
	unsigned long end = drm_gpusvm_range_end(range) >> PAGE_SHIFT;
	int err;

	if (!vrange->ptes) {
		vrange->ptes = kvcalloc(vsvm_range_npages(range),
					sizeof(*vrange->ptes), GFP_KERNEL);
		if (!vrange->ptes)
			return -ENOMEM;
	}
	for (; index < end; index++) {
		err = xa_reserve(&vm->pt, index, GFP_KERNEL);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Write the GPU PTEs of a range from its DMA addresses; driver lock and
 * notifier lock (for write) held, pages valid. Each PTE takes its access from the
 * entry's direction: the helpers decide what the GPU may write. The
 * physical address each IOVA translates to now is recorded for the engine.
 */
static int vsvm_commit(struct vsvm_vm *vm, struct drm_gpusvm_range *range)
{
	struct vsvm_device *vdev = vm->vdev;
	struct vsvm_range *vrange = to_vsvm_range(range);
	unsigned long index = drm_gpusvm_range_start(range) >> PAGE_SHIFT;
	unsigned long npages = vsvm_range_npages(range);
	struct drm_pagemap_addr *addr = range->pages.dma_addr;
	struct drm_pagemap *dpagemap = range->pages.dpagemap;
	struct vsvm_vram *vram = NULL;
	unsigned long i = 0, j, n;
	struct vsvm_pte *pte;
	void *old;

	/* Device pages: of this device's VRAM or of a peer's. */
	if (dpagemap)
		vram = container_of(dpagemap, struct vsvm_vram, dpagemap);

	lockdep_assert_held(&vm->lock);
	lockdep_assert_held_write(&vm->gpusvm.notifier_lock);

	for (; i < npages; i += n, addr++) {
		n = 1UL << addr->order;
		for (j = 0; j < n && i + j < npages; j++) {
			pte = &vrange->ptes[i + j];
			pte->addr = addr->addr + (j << PAGE_SHIFT);
			pte->flags = VSVM_PTE_VALID;
			if (addr->dir == DMA_BIDIRECTIONAL)
				pte->flags |= VSVM_PTE_WRITE;
			if (addr->proto == DRM_INTERCONNECT_SYSTEM) {
				pte->vram = NULL;
				pte->phys = vsvm_translate(vdev, pte->addr);
				if (!pte->phys) {
					atomic64_inc(&vdev->stats.iommu_faults);
					pte->flags = 0;
					return -EIO;
				}
			} else {
				pte->vram = vram;
				pte->phys = 0;
				pte->flags |= VSVM_PTE_VRAM;
				if (vram != &vdev->vram)
					pte->flags |= VSVM_PTE_PEER;
			}
			old = xa_store(&vm->pt, index + i + j, pte, GFP_NOWAIT);
			if (xa_is_err(old))
				return xa_err(old);
			if (!old) {
				atomic64_inc(&vm->pages_mapped);
				if (pte->flags & VSVM_PTE_VRAM)
					atomic64_inc(&vm->vram_pages_mapped);
				if (pte->flags & VSVM_PTE_PEER)
					atomic64_inc(&vm->peer_pages_mapped);
			}
		}
	}
	return 0;
}

/*
 * Placement policy: move the range into VRAM unless it is there. Advice
 * only: on any error the fault goes on with the pages where they are.
 */
static void vsvm_migrate_range(struct vsvm_vm *vm,
			       struct drm_gpusvm_range *range,
			       unsigned long timeslice_ms)
{
	struct vsvm_device *vdev = vm->vdev;
	struct mm_struct *mm = vm->gpusvm.mm;
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long end = drm_gpusvm_range_end(range);
	struct vsvm_alloc *alloc;
	int err;

	if (!range->flags.migrate_devmem || !vdev->vram.npages)
		return;
	if (drm_gpusvm_scan_mm(range, vdev->owner, &vdev->vram.dpagemap) ==
	    DRM_GPUSVM_SCAN_EQUAL)
		return;

	/* Nothing to evict for, nor to migrate, in an exiting mm. */
	if (!mmget_not_zero(mm))
		return;
	alloc = vsvm_vram_alloc(vdev, mm, end - start);
	if (IS_ERR(alloc)) {
		mmput(mm);
		return;
	}
	mmap_read_lock(mm);
	err = drm_pagemap_migrate_to_devmem(&alloc->devmem, mm, start, end,
					    timeslice_ms, vdev->owner);
	mmap_read_unlock(mm);
	mmput(mm);
	if (!err)
		atomic64_inc(&vdev->stats.migrations_to_vram);
}

/*
 * Whether the CPU maps @addr, and for what. -EFAULT without a VMA, -EPERM
 * for an access the VMA does not allow; else 1 if read-only, 0 if writable.
 */
static int vsvm_vma_access(struct vsvm_vm *vm, unsigned long addr, bool write)
{
	struct mm_struct *mm = vm->gpusvm.mm;
	struct vm_area_struct *vma;
	int ret;

	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma)
		ret = -EFAULT;
	else if (!(vma->vm_flags & VM_READ))
		ret = -EPERM;
	else if (!(vma->vm_flags & VM_WRITE))
		ret = write ? -EPERM : 1;
	else
		ret = 0;
	mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

/**
 * vsvm_vm_attr() - The attributes of a GPU virtual address
 * @vm: The VM.
 * @addr: The address.
 *
 * Returns: VSVM_ATTR() of the span's placement and atomic attributes.
 */
unsigned long vsvm_vm_attr(struct vsvm_vm *vm, unsigned long addr)
{
	void *entry = mtree_load(&vm->attrs, addr);

	return entry ? xa_to_value(entry) : 0;
}

/**
 * vsvm_madvise() - Set the attributes of a span
 * @vm: The VM.
 * @start: Start of the span, page aligned.
 * @end: End of the span, page aligned.
 * @placement: DRM_VSVM_PLACE_*.
 * @atomic: DRM_VSVM_ATOMIC_*.
 *
 * The span's attributes replace those of every span it overlaps, which are
 * split at its ends. Pages already mapped stay where they are.
 *
 * Context: Process context.
 * Returns: 0, or -ENOMEM.
 */
int vsvm_madvise(struct vsvm_vm *vm, unsigned long start, unsigned long end,
		 u32 placement, u32 atomic)
{
	unsigned long attr = VSVM_ATTR(placement, atomic);

	/* The defaults are no entry at all. */
	return mtree_store_range(&vm->attrs, start, end - 1,
				 attr ? xa_mk_value(attr) : NULL, GFP_KERNEL);
}

/* gpusvm-doc: fault-handler */
/**
 * vsvm_gpu_fault() - Resolve a GPU page fault
 * @vm: The VM.
 * @addr: The faulting GPU (= CPU) virtual address.
 * @flags: VSVM_FAULT_*: what the access is.
 * @timeslice_ms: Timeslice of the migrations to VRAM.
 *
 * The bounded retry loop of the helpers' contract: garbage-collect, find or
 * insert the range, place it, get its pages (zapping and unmapping it when
 * it is mapped for another access, evicting it when its pages cannot be
 * mapped together), and commit the PTEs under the notifier lock if the pages
 * are still valid. Access follows the CPU VMA, looked up on every pass.
 * Placement follows the span's attribute, else the job's request; an atomic
 * access to a span whose atomics are done in VRAM only accepts device pages.
 *
 * Context: Process context, from a job or a prefetch the VM counts in
 * &vsvm_vm.active_jobs; takes the VM's lock, then the mmap lock.
 * Returns: 0 when the range is mapped; -EFAULT if the CPU does not map
 * @addr, -EPERM if it does not allow the access, -EOPNOTSUPP if an atomic
 * access needs VRAM and the pages cannot move there, -ECANCELED if the VM
 * is closing, or the helpers' error.
 */
int vsvm_gpu_fault(struct vsvm_vm *vm, unsigned long addr, unsigned int flags,
		   unsigned long timeslice_ms)
{
	struct vsvm_device *vdev = vm->vdev;
	unsigned long attr = vsvm_vm_attr(vm, addr);
	bool write = flags & VSVM_FAULT_WRITE;
	struct drm_gpusvm_ctx ctx = {
		.device_private_page_owner = vdev->owner,
		.check_pages_threshold = SZ_64K,
		.devmem_possible = vdev->vram.npages != 0,
		.timeslice_ms = timeslice_ms,
	};
	struct drm_gpusvm_range *range;
	int tries, err = -EAGAIN;
	bool vram;

	switch (VSVM_ATTR_PLACEMENT(attr)) {
	case DRM_VSVM_PLACE_SYSTEM:
		vram = false;
		break;
	case DRM_VSVM_PLACE_VRAM:
		vram = true;
		break;
	default:
		vram = flags & VSVM_FAULT_VRAM;
		break;
	}
	if ((flags & VSVM_FAULT_ATOMIC) &&
	    VSVM_ATTR_ATOMIC(attr) == DRM_VSVM_ATOMIC_DEVICE) {
		vram = true;
		ctx.devmem_only = true;
	}

	atomic64_inc(&vdev->stats.gpu_faults);
	for (tries = 0; tries < VSVM_FAULT_TRIES; tries++) {
		if (tries)
			atomic64_inc(&vdev->stats.fault_retries);

		mutex_lock(&vm->lock);
		if (vm->closing) {
			mutex_unlock(&vm->lock);
			return -ECANCELED;
		}
		err = vsvm_vma_access(vm, addr, write);
		if (err < 0) {
			mutex_unlock(&vm->lock);
			return err;
		}
		ctx.read_only = err;
		vsvm_garbage_collect(vm);

		range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, addr, 0,
							vm->va_end, &ctx);
		if (IS_ERR(range)) {
			err = PTR_ERR(range);
			mutex_unlock(&vm->lock);
			if (err == -EFAULT || err == -ENOENT)
				return -EFAULT;
			return err;
		}

		if (vram)
			vsvm_migrate_range(vm, range, timeslice_ms);

		err = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
		if (err == -EFAULT && ctx.devmem_only && tries >= 2) {
			/* The VMA is there: its pages do not move to VRAM. */
			mutex_unlock(&vm->lock);
			return -EOPNOTSUPP;
		}
		if (err == -EEXIST) {
			/* Mapped for another access: zap before it goes. */
			vsvm_unmap_range(vm, range);
			mutex_unlock(&vm->lock);
			continue;
		}
		if (err == -EPERM) {
			/*
			 * The VMA at @addr allows the access, so the range
			 * spans memory that does not any more (an mprotect()
			 * of part of it): replace it with one that fits.
			 */
			vsvm_remove_range(vm, range);
			mutex_unlock(&vm->lock);
			err = -EAGAIN;
			continue;
		}
		if (err == -EOPNOTSUPP) {
			/* Pages the GPU cannot map together: evict. */
			err = drm_gpusvm_range_evict(&vm->gpusvm, range);
			mutex_unlock(&vm->lock);
			if (err && err != -EBUSY)
				return err;
			err = -EAGAIN;
			continue;
		}
		if (!err)
			err = vsvm_prepare_commit(vm, range);
		if (!err) {
			/*
			 * For write: the engine reads the entries under the
			 * lock for read, and another fault of the range may
			 * have published them already.
			 */
			down_write(&vm->gpusvm.notifier_lock);
			if (drm_gpusvm_range_pages_valid(&vm->gpusvm, range))
				err = vsvm_commit(vm, range);
			else
				err = -EAGAIN;
			up_write(&vm->gpusvm.notifier_lock);
		}
		mutex_unlock(&vm->lock);

		/* Unmapped, invalidated or contended meanwhile: go round. */
		if (err != -EAGAIN && err != -EFAULT && err != -EBUSY)
			return err;
		cond_resched();
	}
	return err;
}

/* gpusvm-doc: end fault-handler */

/* Evict one range of a prefetch to system memory, unless nothing is in VRAM. */
static int vsvm_prefetch_evict(struct vsvm_vm *vm,
			       struct drm_gpusvm_range *range)
{
	struct vsvm_device *vdev = vm->vdev;
	int err;

	if (drm_gpusvm_scan_mm(range, vdev->owner, &vdev->vram.dpagemap) ==
	    DRM_GPUSVM_SCAN_SYSTEM)
		return 0;
	err = drm_gpusvm_range_evict(&vm->gpusvm, range);
	if (!err)
		atomic64_inc(&vdev->stats.evictions);
	return err;
}

/**
 * vsvm_prefetch() - Move a span into VRAM, or out of it
 * @vm: The VM.
 * @start: Start of the span, page aligned.
 * @end: End of the span, page aligned.
 * @vram: To VRAM (mapped for the GPU), else to system memory.
 * @timeslice_ms: Timeslice of the migrations to VRAM.
 *
 * Context: Process context; takes the VM's lock.
 * Returns: 0, -ENOENT if the VM is closing, or the first error.
 */
int vsvm_prefetch(struct vsvm_vm *vm, unsigned long start, unsigned long end,
		  bool vram, unsigned long timeslice_ms)
{
	/* Only to find the ranges: access is the fault's business. */
	struct drm_gpusvm_ctx ctx = {
		.device_private_page_owner = vm->vdev->owner,
		.check_pages_threshold = SZ_64K,
		.devmem_possible = vm->vdev->vram.npages != 0,
		.read_only = true,
	};
	struct drm_gpusvm_range *range;
	unsigned long addr;
	int err;

	err = vsvm_vm_begin(vm);
	if (err)
		return err;
	for (addr = start; addr < end && !err;) {
		if (vram) {
			err = vsvm_gpu_fault(vm, addr, VSVM_FAULT_VRAM,
					     timeslice_ms);
			if (err)
				break;
		}

		mutex_lock(&vm->lock);
		vsvm_garbage_collect(vm);
		range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, addr, 0,
							vm->va_end, &ctx);
		if (IS_ERR(range)) {
			err = PTR_ERR(range);
			if (err == -ENOENT)
				err = -EFAULT;
		} else {
			if (!vram)
				err = vsvm_prefetch_evict(vm, range);
			addr = drm_gpusvm_range_end(range);
		}
		mutex_unlock(&vm->lock);
	}
	vsvm_vm_end(vm);
	return err;
}

/**
 * vsvm_vm_begin() - Start a job or prefetch on a VM
 * @vm: The VM.
 *
 * Context: Process context; takes the VM's lock.
 * Returns: 0, or -ENOENT if the VM is closing.
 */
int vsvm_vm_begin(struct vsvm_vm *vm)
{
	int err = 0;

	mutex_lock(&vm->lock);
	if (vm->closing)
		err = -ENOENT;
	else
		atomic_inc(&vm->active_jobs);
	mutex_unlock(&vm->lock);
	return err;
}

/**
 * vsvm_vm_end() - End what vsvm_vm_begin() started
 * @vm: The VM.
 */
void vsvm_vm_end(struct vsvm_vm *vm)
{
	if (atomic_dec_and_test(&vm->active_jobs))
		wake_up(&vm->jobs_done);
}

/**
 * vsvm_vm_create() - Create a GPU VM mirroring the current process
 * @vdev: The device.
 *
 * Context: Process context, of the process whose mm the VM mirrors.
 * Returns: The VM, or an ERR_PTR().
 */
struct vsvm_vm *vsvm_vm_create(struct vsvm_device *vdev)
{
	struct vsvm_vm *vm;
	int err;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	vm->vdev = vdev;
	vm->va_end = current->mm->task_size;
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	xa_init(&vm->pt);
	mt_init(&vm->attrs);
	spin_lock_init(&vm->gc_lock);
	INIT_LIST_HEAD(&vm->gc_list);
	INIT_WORK(&vm->gc_work, vsvm_gc_work);
	init_waitqueue_head(&vm->jobs_done);

	err = drm_gpusvm_init(&vm->gpusvm, "vsvm", &vdev->drm, current->mm,
			      0, vm->va_end, SZ_512M, &vsvm_gpusvm_ops,
			      vsvm_chunk_sizes, ARRAY_SIZE(vsvm_chunk_sizes));
	if (err) {
		kfree(vm);
		return ERR_PTR(err);
	}
	drm_gpusvm_driver_set_lock(&vm->gpusvm, &vm->lock);
	drm_dev_get(&vdev->drm);
	mutex_lock(&vdev->vms_lock);
	list_add_tail(&vm->link, &vdev->vms);
	mutex_unlock(&vdev->vms_lock);
	return vm;
}

/**
 * vsvm_vm_get() - Take a reference to a VM
 * @vm: The VM.
 *
 * Returns: @vm.
 */
struct vsvm_vm *vsvm_vm_get(struct vsvm_vm *vm)
{
	kref_get(&vm->ref);
	return vm;
}

static void vsvm_vm_free(struct kref *ref)
{
	struct vsvm_vm *vm = container_of(ref, struct vsvm_vm, ref);
	struct vsvm_device *vdev = vm->vdev;

	mutex_lock(&vdev->vms_lock);
	list_del(&vm->link);
	mutex_unlock(&vdev->vms_lock);
	xa_destroy(&vm->pt);
	mtree_destroy(&vm->attrs);
	mutex_destroy(&vm->lock);
	kfree(vm);
	drm_dev_put(&vdev->drm);
}

/**
 * vsvm_vm_put() - Drop a reference to a VM
 * @vm: The VM, closed before its last reference goes.
 */
void vsvm_vm_put(struct vsvm_vm *vm)
{
	kref_put(&vm->ref, vsvm_vm_free);
}

/* Drop the garbage collector's references; the ranges are removed. */
static void vsvm_gc_drain(struct vsvm_vm *vm)
{
	struct vsvm_range *vrange;

	while ((vrange = vsvm_gc_pop(vm)))
		drm_gpusvm_range_put(&vrange->base);
}

/**
 * vsvm_vm_close() - Stop a VM and release everything it maps
 * @vm: The VM.
 *
 * Running jobs and prefetches end with -ECANCELED and are waited for; then
 * every GPU PTE is zapped before the helpers release the ranges and their
 * mappings. Only the first call does anything; the file's and the device's
 * teardown may both call it.
 *
 * Context: Process context; sleeps until the VM's jobs ended.
 */
void vsvm_vm_close(struct vsvm_vm *vm)
{
	struct vsvm_pte *pte;
	unsigned long index;

	mutex_lock(&vm->lock);
	if (vm->closing) {
		mutex_unlock(&vm->lock);
		return;
	}
	vm->closing = true;
	mutex_unlock(&vm->lock);
	wait_event(vm->jobs_done, !atomic_read(&vm->active_jobs));

	mutex_lock(&vm->lock);
	down_write(&vm->gpusvm.notifier_lock);
	xa_for_each(&vm->pt, index, pte)
		xa_erase(&vm->pt, index);
	atomic64_set(&vm->pages_mapped, 0);
	atomic64_set(&vm->vram_pages_mapped, 0);
	atomic64_set(&vm->peer_pages_mapped, 0);
	up_write(&vm->gpusvm.notifier_lock);
	/* No invalidation runs after this: the notifiers are gone. */
	drm_gpusvm_fini(&vm->gpusvm);
	vsvm_gc_drain(vm);
	mutex_unlock(&vm->lock);
	cancel_work_sync(&vm->gc_work);
}

/**
 * vsvm_vm_close_all() - Close every VM of a device
 * @vdev: The device, unplugged: no VM is created any more.
 *
 * Context: Process context; sleeps until every VM's jobs ended.
 */
void vsvm_vm_close_all(struct vsvm_device *vdev)
{
	struct vsvm_vm *vm, *closed = NULL;

	for (;;) {
		mutex_lock(&vdev->vms_lock);
		list_for_each_entry(vm, &vdev->vms, link) {
			/* Closed already, or going: skip it. */
			if (READ_ONCE(vm->closing) ||
			    !kref_get_unless_zero(&vm->ref))
				continue;
			closed = vm;
			break;
		}
		mutex_unlock(&vdev->vms_lock);
		if (!closed)
			return;
		vsvm_vm_close(closed);
		vsvm_vm_put(closed);
		closed = NULL;
	}
}
