/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the vsvm selftest binaries share on top of the kselftest harness: a
 * device with a VM, jobs run to their end, and checks of what the CPU reads.
 * Include after kselftest_harness.h.
 */

#ifndef __VSVM_HARNESS_H__
#define __VSVM_HARNESS_H__

#include "vsvm_util.h"

/* A render node with a VM, and its counters when the case began. */
struct vsvm_gpu {
	int fd;
	__u32 vm;
	/* Jobs fault pages into VRAM (DRM_VSVM_EXEC_VRAM). */
	bool vram;
	struct drm_vsvm_stats start;
};

/*
 * Destroys the VM, then checks the device's view of the whole case: no GPU
 * access went through an IOVA that did not translate as committed, and no
 * released IOVA still translated (destroying the VM releases the last ones).
 */
static void gpu_close(struct __test_metadata *_metadata, struct vsvm_gpu *g)
{
	struct drm_vsvm_stats end;

	if (g->fd < 0)
		return;
	EXPECT_EQ(0, vsvm_vm_destroy(g->fd, g->vm));
	EXPECT_EQ(0, vsvm_stats(g->fd, 0, &end));
	EXPECT_EQ(g->start.iommu_faults, end.iommu_faults)
		TH_LOG("GPU accesses through IOVAs that did not translate as committed");
	EXPECT_EQ(g->start.stale_iovas, end.stale_iovas)
		TH_LOG("released IOVAs still translated: unmapped from the IOMMU late or never");
	close(g->fd);
	g->fd = -1;
}

static struct drm_vsvm_stats stats_of(struct __test_metadata *_metadata,
				      const struct vsvm_gpu *g)
{
	struct drm_vsvm_stats st;

	ASSERT_EQ(0, vsvm_stats(g->fd, g->vm, &st));
	return st;
}

/* How a job ended, for the log of the case's main thread. */
static const char *job_end(const struct drm_vsvm_exec *e)
{
	static __thread char str[64];

	snprintf(str, sizeof(str), "status %d, fault_addr %#llx", e->status,
		 (unsigned long long)e->fault_addr);
	return str;
}

/* The arguments of a job; only the addresses @op uses are set. */
static struct drm_vsvm_exec job_args(const struct vsvm_gpu *g, __u32 op,
				     const void *dst, const void *src,
				     size_t size, __u32 value, __u32 repeat)
{
	return (struct drm_vsvm_exec) {
		.vm_id = g->vm,
		.op = op,
		.dst = op == DRM_VSVM_OP_CHECKSUM ? 0 : vsvm_va(dst),
		.src = op == DRM_VSVM_OP_COPY || op == DRM_VSVM_OP_CHECKSUM ?
		       vsvm_va(src) : 0,
		.size = size,
		/* Only the operations that use it may have a value. */
		.value = op == DRM_VSVM_OP_FILL || op == DRM_VSVM_OP_ATOMIC_INC ?
			 value : 0,
		.flags = g->vram ? DRM_VSVM_EXEC_VRAM : 0,
		.repeat = repeat,
	};
}

/* Runs a job to its end: the ioctl must succeed, the job itself may fail. */
static struct drm_vsvm_exec job(struct __test_metadata *_metadata,
				const struct vsvm_gpu *g, __u32 op,
				const void *dst, const void *src, size_t size,
				__u32 value, __u32 repeat)
{
	struct drm_vsvm_exec exec = job_args(g, op, dst, src, size, value,
					     repeat);
	int ret = vsvm_exec(g->fd, &exec);

	ASSERT_EQ(0, ret)
		TH_LOG("exec op %u: ioctl failed with %s, expected it to run",
		       op, strerror(-ret));
	return exec;
}

static void gpu_fill(struct __test_metadata *_metadata,
		     const struct vsvm_gpu *g, void *dst, size_t size,
		     __u32 value)
{
	struct drm_vsvm_exec e = job(_metadata, g, DRM_VSVM_OP_FILL, dst, NULL,
				     size, value, 0);

	ASSERT_EQ(0, e.status)
		TH_LOG("GPU fill of %p+%#zx: %s, expected success",
		       dst, size, job_end(&e));
}

static __u64 gpu_checksum(struct __test_metadata *_metadata,
			  const struct vsvm_gpu *g, const void *src,
			  size_t size)
{
	struct drm_vsvm_exec e = job(_metadata, g, DRM_VSVM_OP_CHECKSUM, NULL,
				     src, size, 0, 0);

	ASSERT_EQ(0, e.status)
		TH_LOG("GPU checksum of %p+%#zx: %s, expected success",
		       src, size, job_end(&e));
	return e.result;
}

static void gpu_atomic_inc(struct __test_metadata *_metadata,
			   const struct vsvm_gpu *g, void *dst, size_t size,
			   __u32 value, __u32 repeat)
{
	struct drm_vsvm_exec e = job(_metadata, g, DRM_VSVM_OP_ATOMIC_INC, dst,
				     NULL, size, value, repeat);

	ASSERT_EQ(0, e.status)
		TH_LOG("GPU atomic_inc of %p+%#zx: %s, expected success",
		       dst, size, job_end(&e));
}

/*
 * Runs @op over [@span, @span + @size) and asserts that it ends with @status
 * at exactly @fault: the first word the job may not access.
 */
static void expect_job_fault(struct __test_metadata *_metadata,
			     const struct vsvm_gpu *g, __u32 op,
			     const void *span, size_t size, int status,
			     const void *fault, const char *what)
{
	struct drm_vsvm_exec e = job(_metadata, g, op, span, span, size,
				     0x0badf00d, 0);

	ASSERT_EQ(status, e.status)
		TH_LOG("%s: %s, expected status %d",
		       what, job_end(&e), status);
	ASSERT_EQ(vsvm_va(fault), e.fault_addr)
		TH_LOG("%s: %s, expected fault_addr %p",
		       what, job_end(&e), fault);
}

static void *map_buf(struct __test_metadata *_metadata, size_t size)
{
	void *buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, buf);
	return buf;
}

/* Bytes [@off, @off + @size) of @base, read by the CPU, hold pattern @seed. */
static void expect_pattern(struct __test_metadata *_metadata,
			   const void *base, size_t off, size_t size,
			   __u32 seed, const char *what)
{
	long bad = vsvm_pattern_mismatch(base, off, size, seed);

	ASSERT_EQ(-1, bad)
		TH_LOG("%s: word at +%#lx is %#x, expected %#x (pattern %u)",
		       what, bad, ((const __u32 *)base)[bad / 4],
		       vsvm_pattern_word(seed, bad / 4), seed);
}

/* Every word of @buf, read by the CPU, holds @value. */
static void expect_words(struct __test_metadata *_metadata, const void *buf,
			 size_t size, __u32 value, const char *what)
{
	long bad = vsvm_value_mismatch(buf, size, value);

	ASSERT_EQ(-1, bad)
		TH_LOG("%s: word at +%#lx is %#x, expected %#x",
		       what, bad, ((const __u32 *)buf)[bad / 4], value);
}

/* Waits for a child of the case; it exits 0 when it saw what it expected. */
static void expect_child_ok(struct __test_metadata *_metadata, pid_t pid,
			    const char *what)
{
	int status = 0;

	ASSERT_EQ(0, vsvm_wait_child(pid, HANG_MS, &status))
		TH_LOG("%s: child still running after %d ms", what, HANG_MS);
	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("%s: child killed by signal %d", what, WTERMSIG(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("%s: child saw something else (exit code %d)",
		       what, WEXITSTATUS(status));
}

#endif /* __VSVM_HARNESS_H__ */
