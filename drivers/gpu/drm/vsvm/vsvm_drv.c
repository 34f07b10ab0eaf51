// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm: a virtual GPU with recoverable page faults whose GPU virtual address
 * space is the CPU's, built on the DRM GPU SVM helpers.
 *
 * It binds QEMU's "edu" PCI device (1234:11e8) only for what a PCI function
 * behind an IOMMU gives a GPU: a struct device whose DMA addresses are IOVAs.
 * Where there is none, it creates platform devices of its own (direct DMA).
 * The GPU engine is software: it reaches memory only through those
 * addresses, translated by the device's IOMMU domain, under the GPU
 * page-table lock that every invalidation takes.
 */

#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_print.h>
#include <drm/vsvm_drm.h>

#include "vsvm_drv.h"

static unsigned int vram_mb = 128;
module_param(vram_mb, uint, 0444);
MODULE_PARM_DESC(vram_mb, "Emulated VRAM per device in MiB (default 128, 0: none)");

static bool owner_group;
module_param(owner_group, bool, 0644);
MODULE_PARM_DESC(owner_group, "Devices bound from now on share one device-private owner and map each other's VRAM in place (default false)");

/* The driver's devices, for owner groups. */
static struct drm_pagemap_owner_list vsvm_owner_list;

#define VSVM_MAX_SPAN	SZ_1G

static struct vsvm_vm *vsvm_lookup_vm(struct drm_file *file, u32 id)
{
	struct vsvm_file *vfile = file->driver_priv;
	struct vsvm_vm *vm;

	xa_lock(&vfile->vms);
	vm = xa_load(&vfile->vms, id);
	if (vm)
		vsvm_vm_get(vm);
	xa_unlock(&vfile->vms);
	return vm;
}

/*
 * A VM of the file for a job or a prefetch: GPU addresses are the creator's
 * CPU addresses, so only the creator's process may use it.
 */
static struct vsvm_vm *vsvm_lookup_own_vm(struct drm_file *file, u32 id)
{
	struct vsvm_vm *vm = vsvm_lookup_vm(file, id);

	if (!vm)
		return ERR_PTR(-ENOENT);
	if (vm->gpusvm.mm != current->mm) {
		vsvm_vm_put(vm);
		return ERR_PTR(-EACCES);
	}
	return vm;
}

static int vsvm_vm_create_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct vsvm_file *vfile = file->driver_priv;
	struct drm_vsvm_vm_create *args = data;
	struct vsvm_vm *vm;
	int err, idx;
	u32 id;

	if (args->flags)
		return -EINVAL;
	if (!drm_dev_enter(drm, &idx))
		return -ENODEV;
	vm = vsvm_vm_create(to_vsvm_device(drm));
	drm_dev_exit(idx);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	err = xa_alloc(&vfile->vms, &id, vm, xa_limit_32b, GFP_KERNEL);
	if (err) {
		vsvm_vm_close(vm);
		vsvm_vm_put(vm);
		return err;
	}
	args->vm_id = id;
	return 0;
}

static int vsvm_vm_destroy_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct vsvm_file *vfile = file->driver_priv;
	struct drm_vsvm_vm_destroy *args = data;
	struct vsvm_vm *vm;

	if (args->pad)
		return -EINVAL;
	vm = xa_erase(&vfile->vms, args->vm_id);
	if (!vm)
		return -ENOENT;
	vsvm_vm_close(vm);
	vsvm_vm_put(vm);
	return 0;
}

/* A span of @size bytes at @addr: no wrap, within the GPU's reach. */
static bool vsvm_span_ok(u64 addr, u64 size, u64 align)
{
	return size && size <= VSVM_MAX_SPAN && IS_ALIGNED(addr, align) &&
	       IS_ALIGNED(size, align) && addr + size > addr;
}

static int vsvm_exec_check(const struct drm_vsvm_exec *args)
{
	bool reads = args->op == DRM_VSVM_OP_COPY ||
		     args->op == DRM_VSVM_OP_CHECKSUM;
	bool writes = args->op != DRM_VSVM_OP_CHECKSUM;
	bool has_value = args->op == DRM_VSVM_OP_FILL ||
			 args->op == DRM_VSVM_OP_ATOMIC_INC;

	if (args->op < DRM_VSVM_OP_FILL || args->op > DRM_VSVM_OP_ATOMIC_INC)
		return -EINVAL;
	if ((args->flags & ~DRM_VSVM_EXEC_VRAM) || args->pad)
		return -EINVAL;
	/* A timeslice is that of the migrations to VRAM. */
	if (args->timeslice_ms > DRM_PAGEMAP_TIMESLICE_MAX_MS ||
	    (args->timeslice_ms && !(args->flags & DRM_VSVM_EXEC_VRAM)))
		return -EINVAL;
	/* What the operation does not use must be 0. */
	if ((has_value && args->value > U32_MAX) || (!has_value && args->value))
		return -EINVAL;
	if ((!reads && args->src) || (!writes && args->dst))
		return -EINVAL;
	if (writes && !vsvm_span_ok(args->dst, args->size, 4))
		return -EINVAL;
	if (reads && !vsvm_span_ok(args->src, args->size, 4))
		return -EINVAL;
	/* A copy's spans may not overlap. */
	if (args->op == DRM_VSVM_OP_COPY &&
	    args->src < args->dst + args->size &&
	    args->dst < args->src + args->size)
		return -EINVAL;
	return 0;
}

static int vsvm_exec_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file)
{
	struct drm_vsvm_exec *args = data;
	struct vsvm_job *job;
	struct vsvm_vm *vm;
	int err, idx;

	err = vsvm_exec_check(args);
	if (err)
		return err;
	vm = vsvm_lookup_own_vm(file, args->vm_id);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	/* Unplug waits for the submission, never for the job. */
	if (!drm_dev_enter(drm, &idx)) {
		err = -ENODEV;
		goto put;
	}
	job = vsvm_job_submit(vm, args);
	drm_dev_exit(idx);
	err = IS_ERR(job) ? PTR_ERR(job) : vsvm_job_wait(job, args);
put:
	vsvm_vm_put(vm);
	return err;
}

static int vsvm_prefetch_ioctl(struct drm_device *drm, void *data,
			       struct drm_file *file)
{
	struct drm_vsvm_prefetch *args = data;
	struct vsvm_vm *vm;
	int err, idx;

	if (args->pad || args->region > DRM_VSVM_REGION_VRAM ||
	    args->timeslice_ms > DRM_PAGEMAP_TIMESLICE_MAX_MS ||
	    !vsvm_span_ok(args->start, args->size, PAGE_SIZE))
		return -EINVAL;
	vm = vsvm_lookup_own_vm(file, args->vm_id);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	if (!drm_dev_enter(drm, &idx)) {
		err = -ENODEV;
		goto put;
	}
	err = vsvm_prefetch(vm, args->start, args->start + args->size,
			    args->region == DRM_VSVM_REGION_VRAM,
			    args->timeslice_ms);
	drm_dev_exit(idx);
put:
	vsvm_vm_put(vm);
	return err;
}

static int vsvm_stats_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct vsvm_device *vdev = to_vsvm_device(drm);
	struct vsvm_stats *s = &vdev->stats;
	struct drm_vsvm_stats *args = data;
	struct vsvm_vm *vm = NULL;

	if (args->pad)
		return -EINVAL;
	if (args->vm_id) {
		vm = vsvm_lookup_vm(file, args->vm_id);
		if (!vm)
			return -ENOENT;
	}

	args->gpu_faults = atomic64_read(&s->gpu_faults);
	args->fault_retries = atomic64_read(&s->fault_retries);
	args->migrations_to_vram = atomic64_read(&s->migrations_to_vram);
	args->migrations_to_ram = atomic64_read(&s->migrations_to_ram);
	args->bytes_to_vram = atomic64_read(&s->bytes_to_vram);
	args->bytes_to_ram = atomic64_read(&s->bytes_to_ram);
	args->evictions = atomic64_read(&s->evictions);
	args->iommu_faults = atomic64_read(&s->iommu_faults);
	args->stale_iovas = atomic64_read(&s->stale_iovas);
	args->iova_checks = atomic64_read(&s->iova_checks);
	args->jobs = atomic64_read(&s->jobs);
	args->vram_pages_used = atomic64_read(&vdev->vram.pages_used);
	args->vram_pages_total = vdev->vram.npages;
	args->behind_iommu = !!vdev->domain;
	args->vm_ranges = vm ? atomic64_read(&vm->ranges) : 0;
	args->vm_pages_mapped = vm ? atomic64_read(&vm->pages_mapped) : 0;
	args->vm_vram_pages_mapped =
		vm ? atomic64_read(&vm->vram_pages_mapped) : 0;
	args->vm_peer_pages_mapped =
		vm ? atomic64_read(&vm->peer_pages_mapped) : 0;
	args->owner_group = vdev->grouped;
	if (vm)
		vsvm_vm_put(vm);
	return 0;
}

static int vsvm_madvise_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct drm_vsvm_madvise *args = data;
	struct vsvm_vm *vm;
	int err;

	if (args->pad || args->placement > DRM_VSVM_PLACE_VRAM ||
	    args->atomic > DRM_VSVM_ATOMIC_DEVICE ||
	    !vsvm_span_ok(args->start, args->size, PAGE_SIZE))
		return -EINVAL;
	vm = vsvm_lookup_vm(file, args->vm_id);
	if (!vm)
		return -ENOENT;
	err = vsvm_madvise(vm, args->start, args->start + args->size,
			   args->placement, args->atomic);
	vsvm_vm_put(vm);
	return err;
}

static const struct drm_ioctl_desc vsvm_ioctls[] = {
	DRM_IOCTL_DEF_DRV(VSVM_VM_CREATE, vsvm_vm_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_VM_DESTROY, vsvm_vm_destroy_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_EXEC, vsvm_exec_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_PREFETCH, vsvm_prefetch_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_STATS, vsvm_stats_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_MADVISE, vsvm_madvise_ioctl, DRM_RENDER_ALLOW),
};

static int vsvm_open(struct drm_device *drm, struct drm_file *file)
{
	struct vsvm_file *vfile;

	vfile = kzalloc(sizeof(*vfile), GFP_KERNEL);
	if (!vfile)
		return -ENOMEM;
	xa_init_flags(&vfile->vms, XA_FLAGS_ALLOC1);
	file->driver_priv = vfile;
	return 0;
}

static void vsvm_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct vsvm_file *vfile = file->driver_priv;
	struct vsvm_vm *vm;
	unsigned long id;

	xa_for_each(&vfile->vms, id, vm) {
		xa_erase(&vfile->vms, id);
		vsvm_vm_close(vm);
		vsvm_vm_put(vm);
	}
	xa_destroy(&vfile->vms);
	kfree(vfile);
}

static const struct file_operations vsvm_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = drm_ioctl,
	.compat_ioctl = drm_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	.fop_flags = FOP_UNSIGNED_OFFSET,
};

static const struct drm_driver vsvm_drm_driver = {
	.driver_features = DRIVER_RENDER,
	.open = vsvm_open,
	.postclose = vsvm_postclose,
	.ioctls = vsvm_ioctls,
	.num_ioctls = ARRAY_SIZE(vsvm_ioctls),
	.fops = &vsvm_fops,
	.name = "vsvm",
	.desc = "Virtual SVM GPU",
	.major = 1,
	.minor = 0,
};

/* Devices bound with owner_group set reach each other's VRAM. */
static bool vsvm_has_interconnect(struct drm_pagemap_peer *p1,
				  struct drm_pagemap_peer *p2)
{
	struct vsvm_device *v1 = p1->private, *v2 = p2->private;

	return v1->grouped && v2->grouped;
}

/* Set up a device whose DMA mask is set; devres of @dev. */
static int vsvm_device_probe(struct device *dev)
{
	struct iommu_domain *domain;
	struct vsvm_device *vdev;
	int err;

	vdev = devm_drm_dev_alloc(dev, &vsvm_drm_driver, struct vsvm_device,
				  drm);
	if (IS_ERR(vdev))
		return PTR_ERR(vdev);
	dev_set_drvdata(dev, vdev);

	/* A translating domain: the engine reaches memory through it. */
	domain = iommu_get_domain_for_dev(dev);
	if (domain && (domain->type & __IOMMU_DOMAIN_PAGING))
		vdev->domain = domain;

	mutex_init(&vdev->vms_lock);
	INIT_LIST_HEAD(&vdev->vms);
	vdev->grouped = READ_ONCE(owner_group);
	vdev->peer.private = vdev;
	err = drm_pagemap_acquire_owner(&vdev->peer, &vsvm_owner_list,
					vsvm_has_interconnect);
	if (err)
		return err;
	vdev->owner = vdev->peer.owner;

	vdev->wq = alloc_workqueue("vsvm", WQ_UNBOUND, 0);
	if (!vdev->wq) {
		err = -ENOMEM;
		goto release_owner;
	}
	err = vsvm_vram_init(vdev, (unsigned long)vram_mb * SZ_1M);
	if (err)
		goto destroy_wq;
	err = drm_dev_register(&vdev->drm, 0);
	if (err)
		goto fini_vram;

	drm_info(&vdev->drm, "%u MiB of VRAM, DMA %s, %s owner\n", vram_mb,
		 vdev->domain ? "through the IOMMU" : "direct",
		 vdev->grouped ? "group" : "own");
	return 0;

fini_vram:
	vsvm_vram_fini(vdev);
destroy_wq:
	destroy_workqueue(vdev->wq);
release_owner:
	drm_pagemap_release_owner(&vdev->peer);
	return err;
}

static void vsvm_device_remove(struct device *dev)
{
	struct vsvm_device *vdev = dev_get_drvdata(dev);

	/*
	 * No new VM, job or migration; the VMs of files still open end their
	 * jobs and release their mappings; then everything leaves the VRAM.
	 */
	drm_dev_unplug(&vdev->drm);
	vsvm_vm_close_all(vdev);
	flush_workqueue(vdev->wq);
	vsvm_vram_fini(vdev);
	destroy_workqueue(vdev->wq);
	drm_pagemap_release_owner(&vdev->peer);
}

static int vsvm_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int err;

	err = pcim_enable_device(pdev);
	if (err)
		return err;
	err = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (err)
		return err;
	return vsvm_device_probe(&pdev->dev);
}

static void vsvm_pci_remove(struct pci_dev *pdev)
{
	vsvm_device_remove(&pdev->dev);
}

static const struct pci_device_id vsvm_pci_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },	/* QEMU edu */
	{ }
};
MODULE_DEVICE_TABLE(pci, vsvm_pci_ids);

static struct pci_driver vsvm_pci_driver = {
	.name = "vsvm",
	.id_table = vsvm_pci_ids,
	.probe = vsvm_pci_probe,
	.remove = vsvm_pci_remove,
};

/*
 * Without a PCI device, a platform device of the driver's own: the same GPU
 * with direct DMA, for machines without an IOMMU.
 */
static unsigned int platform_devices;
module_param(platform_devices, uint, 0444);
MODULE_PARM_DESC(platform_devices, "Devices without PCI (direct DMA) to create (default 0)");

#define VSVM_MAX_PLATFORM_DEVICES	4

static struct platform_device *vsvm_pdevs[VSVM_MAX_PLATFORM_DEVICES];

static int vsvm_platform_probe(struct platform_device *pdev)
{
	int err;

	err = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (err)
		return err;
	return vsvm_device_probe(&pdev->dev);
}

static void vsvm_platform_remove(struct platform_device *pdev)
{
	vsvm_device_remove(&pdev->dev);
}

static struct platform_driver vsvm_platform_driver = {
	.driver.name = "vsvm",
	.probe = vsvm_platform_probe,
	.remove = vsvm_platform_remove,
};

static void vsvm_platform_fini(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vsvm_pdevs); i++) {
		if (vsvm_pdevs[i])
			platform_device_unregister(vsvm_pdevs[i]);
		vsvm_pdevs[i] = NULL;
	}
	platform_driver_unregister(&vsvm_platform_driver);
}

static int __init vsvm_init(void)
{
	unsigned int i, n = min(platform_devices, VSVM_MAX_PLATFORM_DEVICES);
	int err;

	drm_pagemap_owner_list_init(&vsvm_owner_list);
	err = platform_driver_register(&vsvm_platform_driver);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		vsvm_pdevs[i] = platform_device_register_simple("vsvm", i,
								NULL, 0);
		if (IS_ERR(vsvm_pdevs[i])) {
			err = PTR_ERR(vsvm_pdevs[i]);
			vsvm_pdevs[i] = NULL;
			goto fini;
		}
	}
	err = pci_register_driver(&vsvm_pci_driver);
	if (err)
		goto fini;
	return 0;

fini:
	vsvm_platform_fini();
	return err;
}

static void __exit vsvm_exit(void)
{
	pci_unregister_driver(&vsvm_pci_driver);
	vsvm_platform_fini();
}

module_init(vsvm_init);
module_exit(vsvm_exit);

MODULE_DESCRIPTION("Virtual SVM GPU, reference driver of the DRM GPU SVM helpers");
MODULE_LICENSE("GPL");
