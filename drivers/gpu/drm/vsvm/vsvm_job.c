// SPDX-License-Identifier: GPL-2.0-only
/*
 * The GPU engine of vsvm: jobs that read and write GPU virtual addresses
 * through the GPU page table, raising GPU page faults on missing or
 * insufficient entries.
 */

#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <drm/drm_print.h>
#include <drm/vsvm_drm.h>

#include "vsvm_drv.h"

/* Faults one access may raise before the job gives up. */
#define VSVM_ACCESS_TRIES	64

/**
 * struct vsvm_job - One job on a VM
 */
struct vsvm_job {
	/** @work: Runs the job on the device's workqueue. */
	struct work_struct work;
	/** @ref: The submitter and the worker hold one each. */
	struct kref ref;
	/** @vm: The VM (a reference is held). */
	struct vsvm_vm *vm;
	/** @args: Arguments in, results out. */
	struct drm_vsvm_exec args;
	/** @done: Completed when the job ended. */
	struct completion done;
	/** @fail_nth: The fault-injection countdown the job runs with. */
	unsigned int fail_nth;
};

/*
 * A job runs on a workqueue, but what it does is its submitter's ioctl: it
 * takes the submitter's fault-injection countdown (/proc/<pid>/fail-nth)
 * over and hands what is left of it back, so that a test fails the k-th
 * allocation of the GPU fault handler as it fails one of a system call.
 */
#ifdef CONFIG_FAULT_INJECTION
static void vsvm_job_take_fail_nth(struct vsvm_job *job)
{
	job->fail_nth = current->fail_nth;
	current->fail_nth = 0;
}

static void vsvm_job_give_fail_nth(struct vsvm_job *job)
{
	current->fail_nth = job->fail_nth;
	job->fail_nth = 0;
}
#else
static void vsvm_job_take_fail_nth(struct vsvm_job *job) { }
static void vsvm_job_give_fail_nth(struct vsvm_job *job) { }
#endif

static void vsvm_job_free(struct kref *ref)
{
	kfree(container_of(ref, struct vsvm_job, ref));
}

/*
 * The page the GPU reaches at @addr for this access, or NULL if the GPU
 * page table does not allow it (a GPU fault). Notifier lock held: an
 * invalidation waits for the access like for a TLB flush. A system page is
 * reached through the IOMMU; an IOVA that translates to anything but the
 * page committed is an IOMMU fault.
 */
static struct page *vsvm_engine_page(struct vsvm_vm *vm, unsigned long addr,
				     bool write, bool atomic)
{
	struct vsvm_device *vdev = vm->vdev;
	struct vsvm_pte *pte;
	phys_addr_t phys;
	struct page *page;

	lockdep_assert_held(&vm->gpusvm.notifier_lock);

	pte = xa_load(&vm->pt, addr >> PAGE_SHIFT);
	if (!pte || !(pte->flags & VSVM_PTE_VALID))
		return NULL;
	if (write && !(pte->flags & VSVM_PTE_WRITE))
		return NULL;
	/* A span whose atomics are done in VRAM only. */
	if (atomic && !(pte->flags & VSVM_PTE_VRAM) &&
	    VSVM_ATTR_ATOMIC(vsvm_vm_attr(vm, addr)) == DRM_VSVM_ATOMIC_DEVICE)
		return NULL;

	if (pte->flags & VSVM_PTE_VRAM) {
		page = vsvm_vram_backing(pte->vram, pte->addr);
		if (page)
			return page;
	} else {
		phys = vsvm_translate(vdev, pte->addr);
		if (phys && phys == pte->phys)
			return pfn_to_page(PHYS_PFN(phys));
	}

	atomic64_inc(&vdev->stats.iommu_faults);
	drm_err_ratelimited(&vdev->drm, "IOMMU fault at %#lx (%pad)\n", addr,
			    &pte->addr);
	return ERR_PTR(-EIO);
}

/**
 * struct vsvm_access - One access of the engine: up to two pages
 */
struct vsvm_access {
	/** @addr: GPU virtual address of each page accessed. */
	unsigned long addr[2];
	/** @write: Whether each is written. */
	bool write[2];
	/** @n: Pages (1 or 2). */
	int n;
	/** @page: Out: the pages, valid under the notifier lock. */
	struct page *page[2];
};

/*
 * Take the notifier lock with every page of @acc reachable, faulting the
 * missing ones in. Returns 0 with the lock held, or what ended the job, with
 * @fault_addr set.
 */
static int vsvm_engine_lock(struct vsvm_job *job, struct vsvm_access *acc,
			    u64 *fault_addr)
{
	struct vsvm_vm *vm = job->vm;
	bool atomic = job->args.op == DRM_VSVM_OP_ATOMIC_INC;
	unsigned int flags;
	int tries, i, err;
	struct page *page;

	for (tries = 0; tries < VSVM_ACCESS_TRIES; tries++) {
		if (READ_ONCE(vm->closing))
			return -ECANCELED;

		drm_gpusvm_notifier_lock(&vm->gpusvm);
		for (i = 0; i < acc->n; i++) {
			page = vsvm_engine_page(vm, acc->addr[i],
						acc->write[i], atomic);
			if (IS_ERR_OR_NULL(page))
				break;
			acc->page[i] = page;
		}
		if (i == acc->n)
			return 0;
		drm_gpusvm_notifier_unlock(&vm->gpusvm);

		*fault_addr = acc->addr[i];
		if (IS_ERR(page))
			return PTR_ERR(page);

		job->args.gpu_faults++;
		flags = acc->write[i] ? VSVM_FAULT_WRITE : 0;
		if (job->args.flags & DRM_VSVM_EXEC_VRAM)
			flags |= VSVM_FAULT_VRAM;
		if (atomic)
			flags |= VSVM_FAULT_ATOMIC;
		err = vsvm_gpu_fault(vm, acc->addr[i], flags,
				     job->args.timeslice_ms);
		if (err)
			return err;
		cond_resched();
	}
	return -EAGAIN;
}

static u64 vsvm_checksum(const u8 *p, size_t len, u64 index, u64 sum)
{
	size_t i;

	for (i = 0; i < len; i++)
		sum += (u64)p[i] * (index + i + 1);
	return sum;
}

/* One pass of the job over its span. */
static int vsvm_job_pass(struct vsvm_job *job, u64 *fault_addr)
{
	struct drm_vsvm_exec *args = &job->args;
	struct vsvm_vm *vm = job->vm;
	struct vsvm_access acc;
	u64 done, sum = 0;
	unsigned long addr;
	size_t len, i;
	void *d, *s;
	int err;

	for (done = 0; done < args->size; done += len) {
		memset(&acc, 0, sizeof(acc));
		addr = (args->op == DRM_VSVM_OP_CHECKSUM ? args->src :
			args->dst) + done;
		len = min_t(u64, args->size - done,
			    PAGE_SIZE - offset_in_page(addr));
		acc.addr[0] = addr;
		acc.write[0] = args->op != DRM_VSVM_OP_CHECKSUM;
		acc.n = 1;
		if (args->op == DRM_VSVM_OP_COPY) {
			acc.addr[1] = args->src + done;
			len = min_t(size_t, len,
				    PAGE_SIZE - offset_in_page(acc.addr[1]));
			acc.n = 2;
		}

		err = vsvm_engine_lock(job, &acc, fault_addr);
		if (err)
			return err;

		d = kmap_local_page(acc.page[0]) + offset_in_page(addr);
		switch (args->op) {
		case DRM_VSVM_OP_FILL:
			memset32(d, (u32)args->value, len / 4);
			break;
		case DRM_VSVM_OP_COPY:
			s = kmap_local_page(acc.page[1]) +
			    offset_in_page(acc.addr[1]);
			memcpy(d, s, len);
			kunmap_local(s);
			break;
		case DRM_VSVM_OP_CHECKSUM:
			sum = vsvm_checksum(d, len, done, sum);
			break;
		case DRM_VSVM_OP_ATOMIC_INC:
			for (i = 0; i < len; i += 4)
				atomic_add((int)args->value,
					   (atomic_t *)(d + i));
			break;
		}
		kunmap_local(d);
		drm_gpusvm_notifier_unlock(&vm->gpusvm);
	}
	args->result = sum;
	return 0;
}

static void vsvm_job_work(struct work_struct *work)
{
	struct vsvm_job *job = container_of(work, struct vsvm_job, work);
	struct vsvm_vm *vm = job->vm;
	u32 pass, passes = max_t(u32, job->args.repeat, 1);
	u64 fault_addr = 0;
	int err = 0;

	atomic64_inc(&vm->vdev->stats.jobs);
	vsvm_job_give_fail_nth(job);
	for (pass = 0; pass < passes && !err; pass++) {
		err = vsvm_job_pass(job, &fault_addr);
		cond_resched();
	}
	vsvm_job_take_fail_nth(job);
	job->args.status = err;
	job->args.fault_addr = err ? fault_addr : 0;
	complete(&job->done);

	vsvm_vm_end(vm);
	vsvm_vm_put(vm);
	kref_put(&job->ref, vsvm_job_free);
}

/**
 * vsvm_job_submit() - Start a job
 * @vm: The VM (the caller holds a reference).
 * @args: The validated arguments.
 *
 * Context: Process context.
 * Returns: The job, to wait for with vsvm_job_wait(), or an ERR_PTR():
 * -ENOENT if the VM is closing, -ENOMEM.
 */
struct vsvm_job *vsvm_job_submit(struct vsvm_vm *vm,
				 const struct drm_vsvm_exec *args)
{
	struct vsvm_job *job;
	int err;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return ERR_PTR(-ENOMEM);
	err = vsvm_vm_begin(vm);
	if (err) {
		kfree(job);
		return ERR_PTR(err);
	}
	kref_init(&job->ref);
	kref_get(&job->ref);
	init_completion(&job->done);
	INIT_WORK(&job->work, vsvm_job_work);
	job->args = *args;
	job->args.gpu_faults = 0;
	job->vm = vsvm_vm_get(vm);
	vsvm_job_take_fail_nth(job);
	queue_work(vm->vdev->wq, &job->work);
	return job;
}

/**
 * vsvm_job_wait() - Wait for a job and drop the submitter's reference
 * @job: The job.
 * @args: Where the results go.
 *
 * Context: Process context; sleeps.
 * Returns: 0 once the job ended (how is in @args), or -EINTR if a signal
 * interrupted the wait: the job goes on, and its results are lost.
 */
int vsvm_job_wait(struct vsvm_job *job, struct drm_vsvm_exec *args)
{
	int err = 0;

	if (wait_for_completion_interruptible(&job->done)) {
		/* Not restarted: that would run the job twice. */
		err = -EINTR;
	} else {
		args->result = job->args.result;
		args->fault_addr = job->args.fault_addr;
		args->status = job->args.status;
		args->gpu_faults = job->args.gpu_faults;
		vsvm_job_give_fail_nth(job);
	}
	kref_put(&job->ref, vsvm_job_free);
	return err;
}
