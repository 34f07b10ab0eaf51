/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * uAPI of vsvm, the virtual SVM GPU: the reference driver of the DRM GPU SVM
 * helpers.
 */

#ifndef _UAPI_VSVM_DRM_H_
#define _UAPI_VSVM_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: vsvm uAPI
 *
 * vsvm is a virtual GPU whose virtual address space is the CPU's: a GPU VM
 * is bound to the mm of the process that creates it, and GPU virtual
 * addresses are CPU virtual addresses. Jobs access memory through GPU page
 * tables the driver fills on GPU page fault, from system memory or from the
 * device's own memory (VRAM), through the DRM GPU SVM helpers.
 *
 * A job that meets an address it cannot access (not mapped by the CPU, or
 * mapped without the access the job needs) ends with a negative error code
 * in &drm_vsvm_exec.status and the address in &drm_vsvm_exec.fault_addr;
 * the VM keeps working. Invalid arguments fail the ioctl itself.
 */

#define DRM_VSVM_VM_CREATE	0x00
#define DRM_VSVM_VM_DESTROY	0x01
#define DRM_VSVM_EXEC		0x02
#define DRM_VSVM_PREFETCH	0x03
#define DRM_VSVM_STATS		0x04
#define DRM_VSVM_MADVISE	0x05

/**
 * struct drm_vsvm_vm_create - Create a GPU VM mirroring the caller's mm
 */
struct drm_vsvm_vm_create {
	/** @flags: Must be 0. */
	__u32 flags;
	/** @vm_id: Out: the VM's id, valid on this file. */
	__u32 vm_id;
};

/**
 * struct drm_vsvm_vm_destroy - Destroy a GPU VM
 *
 * Waits for the VM's running jobs, which end with -ECANCELED.
 */
struct drm_vsvm_vm_destroy {
	/** @vm_id: The VM. */
	__u32 vm_id;
	/** @pad: Must be 0. */
	__u32 pad;
};

/**
 * enum drm_vsvm_op - What a job does
 * @DRM_VSVM_OP_FILL: Write the 32-bit @value to each 32-bit word of
 *	[@dst, @dst + @size).
 * @DRM_VSVM_OP_COPY: Copy [@src, @src + @size) to @dst. The spans must not
 *	overlap.
 * @DRM_VSVM_OP_CHECKSUM: Read [@src, @src + @size); @result is the sum of
 *	its bytes, each weighted by its index + 1, modulo 2^64.
 * @DRM_VSVM_OP_ATOMIC_INC: Add @value to each 32-bit word of
 *	[@dst, @dst + @size), atomically with respect to other jobs.
 */
enum drm_vsvm_op {
	DRM_VSVM_OP_FILL = 1,
	DRM_VSVM_OP_COPY = 2,
	DRM_VSVM_OP_CHECKSUM = 3,
	DRM_VSVM_OP_ATOMIC_INC = 4,
};

/* The GPU faults ranges into VRAM before mapping them. */
#define DRM_VSVM_EXEC_VRAM	(1 << 0)

/**
 * struct drm_vsvm_exec - Run a job on a VM and wait for it
 *
 * Spans are 4-byte aligned, at most 1 GiB, and may not wrap; fields the
 * operation does not use must be 0, and @value must fit in 32 bits. The job
 * runs @repeat times (0 counts as 1) over its span. The ioctl returns 0 once
 * the job ended; how it ended is in @status. A signal while waiting returns
 * -EINTR and the ioctl is not restarted (that would run the job twice): the
 * job finishes on its own and its results are lost. The job runs with the
 * caller's fault-injection countdown (/proc/PID/task/TID/fail-nth): its
 * GPU faults count as the ioctl's allocations.
 */
struct drm_vsvm_exec {
	/** @vm_id: The VM. */
	__u32 vm_id;
	/** @op: An &enum drm_vsvm_op. */
	__u32 op;
	/** @dst: GPU virtual address written (FILL, COPY, ATOMIC_INC). */
	__u64 dst;
	/** @src: GPU virtual address read (COPY, CHECKSUM). */
	__u64 src;
	/** @size: Bytes, a multiple of 4. */
	__u64 size;
	/** @value: FILL: the word written; ATOMIC_INC: the increment. */
	__u64 value;
	/** @flags: DRM_VSVM_EXEC_*. */
	__u32 flags;
	/** @repeat: Passes over the span. */
	__u32 repeat;
	/** @timeslice_ms: Timeslice of the migrations of DRM_VSVM_EXEC_VRAM (else 0). */
	__u32 timeslice_ms;
	/** @pad: Must be 0. */
	__u32 pad;
	/** @result: Out: CHECKSUM's result. */
	__u64 result;
	/** @fault_addr: Out: the address that ended the job, if any. */
	__u64 fault_addr;
	/**
	 * @status: Out: 0, or what ended the job: -EFAULT for an address the
	 * CPU does not map, -EPERM for a write the CPU mapping does not allow,
	 * -ECANCELED when the VM went away, another negative error code when
	 * the fault could not be served.
	 */
	__s32 status;
	/** @gpu_faults: Out: GPU faults the job raised. */
	__u32 gpu_faults;
};

/* Where DRM_IOCTL_VSVM_PREFETCH moves a span. */
#define DRM_VSVM_REGION_SYSTEM	0
#define DRM_VSVM_REGION_VRAM	1

/**
 * struct drm_vsvm_prefetch - Move a span to VRAM or to system memory
 *
 * To VRAM, each range of the span is migrated to the device and mapped for
 * the GPU; to system memory, each range with pages in the device's VRAM is
 * evicted. Page aligned; returns 0 or the first error.
 */
struct drm_vsvm_prefetch {
	/** @vm_id: The VM. */
	__u32 vm_id;
	/** @region: DRM_VSVM_REGION_*. */
	__u32 region;
	/** @start: Start of the span, a GPU (= CPU) virtual address. */
	__u64 start;
	/** @size: Size of the span in bytes. */
	__u64 size;
	/** @timeslice_ms: Minimum time in VRAM before a CPU fault moves it. */
	__u32 timeslice_ms;
	/** @pad: Must be 0. */
	__u32 pad;
};

/**
 * struct drm_vsvm_stats - Counters of the device and of a VM
 *
 * Device counters count since the device was probed; a test compares two
 * reads. The VM counters are current values (0 with @vm_id 0).
 */
struct drm_vsvm_stats {
	/** @vm_id: A VM of this file, or 0 for the device counters only. */
	__u32 vm_id;
	/** @pad: Must be 0. */
	__u32 pad;
	/** @gpu_faults: GPU page faults served or failed. */
	__u64 gpu_faults;
	/** @fault_retries: Passes of the fault loop that had to go round. */
	__u64 fault_retries;
	/** @migrations_to_vram: Ranges migrated to VRAM. */
	__u64 migrations_to_vram;
	/** @migrations_to_ram: CPU faults and evictions that moved pages back. */
	__u64 migrations_to_ram;
	/** @bytes_to_vram: Bytes copied to VRAM. */
	__u64 bytes_to_vram;
	/** @bytes_to_ram: Bytes copied back to system memory. */
	__u64 bytes_to_ram;
	/** @evictions: VRAM allocations evicted (prefetch, pressure, unbind). */
	__u64 evictions;
	/** @iommu_faults: GPU accesses whose IOVA did not translate as committed. */
	__u64 iommu_faults;
	/** @stale_iovas: Released IOVAs found still translating. */
	__u64 stale_iovas;
	/** @iova_checks: Released IOVAs checked. */
	__u64 iova_checks;
	/** @jobs: Jobs run. */
	__u64 jobs;
	/** @vram_pages_used: VRAM pages allocated now. */
	__u64 vram_pages_used;
	/** @vram_pages_total: VRAM pages of the device. */
	__u64 vram_pages_total;
	/** @behind_iommu: 1 when DMA addresses are IOVAs. */
	__u64 behind_iommu;
	/** @vm_ranges: The VM's ranges now. */
	__u64 vm_ranges;
	/** @vm_pages_mapped: Pages the VM's GPU page table maps now. */
	__u64 vm_pages_mapped;
	/** @vm_vram_pages_mapped: Of those, pages in VRAM. */
	__u64 vm_vram_pages_mapped;
	/**
	 * @vm_peer_pages_mapped: Of those, pages in another device's VRAM,
	 * mapped in place (devices of one owner group).
	 */
	__u64 vm_peer_pages_mapped;
	/**
	 * @owner_group: 1 when the device shares its device-private owner
	 * with the other vsvm devices (the owner_group module parameter when
	 * it was bound), so that they map each other's VRAM in place.
	 */
	__u64 owner_group;
};

/* Where GPU faults place the pages of a span (&drm_vsvm_madvise.placement). */
#define DRM_VSVM_PLACE_DEFAULT	0	/* system memory, VRAM for DRM_VSVM_EXEC_VRAM jobs */
#define DRM_VSVM_PLACE_SYSTEM	1	/* system memory, whatever the job asks */
#define DRM_VSVM_PLACE_VRAM	2	/* VRAM, whatever the job asks */

/* How the GPU does atomics in a span (&drm_vsvm_madvise.atomic). */
#define DRM_VSVM_ATOMIC_DEFAULT	0	/* wherever the pages are */
#define DRM_VSVM_ATOMIC_DEVICE	1	/* only in VRAM: the pages move there first */

/**
 * struct drm_vsvm_madvise - Set the attributes of a span of a VM
 *
 * Attributes belong to GPU virtual addresses, not to pages: they stay when
 * the CPU unmaps and maps memory again, and a later call over part of a span
 * splits it. Page aligned. They apply from the next GPU fault on: pages
 * already mapped stay where they are until they are invalidated.
 *
 * An atomic job on a DRM_VSVM_ATOMIC_DEVICE span whose pages cannot move to
 * VRAM (a shared mapping, say) ends with -EOPNOTSUPP at the first such page.
 */
struct drm_vsvm_madvise {
	/** @vm_id: The VM. */
	__u32 vm_id;
	/** @pad: Must be 0. */
	__u32 pad;
	/** @start: Start of the span, a GPU (= CPU) virtual address. */
	__u64 start;
	/** @size: Size of the span in bytes. */
	__u64 size;
	/** @placement: DRM_VSVM_PLACE_*. */
	__u32 placement;
	/** @atomic: DRM_VSVM_ATOMIC_*. */
	__u32 atomic;
};

#define DRM_IOCTL_VSVM_VM_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VSVM_VM_CREATE, struct drm_vsvm_vm_create)
#define DRM_IOCTL_VSVM_VM_DESTROY \
	DRM_IOW(DRM_COMMAND_BASE + DRM_VSVM_VM_DESTROY, struct drm_vsvm_vm_destroy)
#define DRM_IOCTL_VSVM_EXEC \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VSVM_EXEC, struct drm_vsvm_exec)
#define DRM_IOCTL_VSVM_PREFETCH \
	DRM_IOW(DRM_COMMAND_BASE + DRM_VSVM_PREFETCH, struct drm_vsvm_prefetch)
#define DRM_IOCTL_VSVM_STATS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VSVM_STATS, struct drm_vsvm_stats)
#define DRM_IOCTL_VSVM_MADVISE \
	DRM_IOW(DRM_COMMAND_BASE + DRM_VSVM_MADVISE, struct drm_vsvm_madvise)

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_VSVM_DRM_H_ */
