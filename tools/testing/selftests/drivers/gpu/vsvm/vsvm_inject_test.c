// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm fault injection: fail the k-th kernel allocation of each path of the
 * GPU SVM helpers and of the driver, for k = 1, 2, ... until a run fails
 * nothing, and check what the process sees afterwards.
 *
 * Allocations fail through failslab and fail_page_alloc with the task's
 * countdown, /proc/self/task/TID/fail-nth: the setup lets them fail
 * GFP_KERNEL (ignore-gfp-wait), highmem and order-0 allocations, which they
 * never fail by default, and leaves their probability at 0, so that only the
 * countdown of the test's thread fails anything. The countdown covers the
 * thread's system calls and page faults; a job takes it over from the
 * thread that submits it and hands the rest back, so that EXEC's GPU faults,
 * which run on the device's workqueue, count as the ioctl's.
 *
 * Paths: VM_CREATE; a GPU write fault on system memory (EXEC); a GPU fault
 * into VRAM (EXEC with DRM_VSVM_EXEC_VRAM); a migration to VRAM (PREFETCH);
 * a CPU fault on pages in VRAM (a CPU read); an eviction (PREFETCH to
 * system memory). Each injected run must succeed or end with an error the
 * uAPI documents; then the same operation without injection must succeed,
 * the data must be what was written, and once the buffer is unmapped its
 * VM must hold no range and map no page, and the device's VRAM must be back
 * to what it was. The log says how many allocations each path made (the
 * sites a run reaches) and how the injected runs ended.
 *
 * The failed allocation may be one of DMA-API debug's, which then turns
 * itself off for the rest of the boot: the setup says so to the harness's
 * console scanner, and the harness runs this test after every other one.
 *
 * Needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and
 * CONFIG_FAULT_INJECTION_DEBUG_FS with debugfs mounted; skips without them.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE		VSVM_PAGE_SIZE
/* One 64K range. */
#define BUF_PAGES	16
#define BUF_SIZE	(BUF_PAGES * PAGE)

/* More than any path allocates: reaching it is a failure. */
#define MAX_SITES	1000

#define HANG_MS		10000

#define DEBUGFS		"/sys/kernel/debug/"

/* What the setup writes, and what it writes back afterwards. */
static const struct {
	const char *file, *value, *restore;
} knobs[] = {
	{ DEBUGFS "failslab/ignore-gfp-wait", "N", "Y" },
	{ DEBUGFS "failslab/verbose", "0", "2" },
	{ DEBUGFS "fail_page_alloc/ignore-gfp-wait", "N", "Y" },
	{ DEBUGFS "fail_page_alloc/ignore-gfp-highmem", "N", "Y" },
	{ DEBUGFS "fail_page_alloc/min-order", "0", "1" },
	{ DEBUGFS "fail_page_alloc/verbose", "0", "2" },
};

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	ssize_t ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, value, strlen(value));
	close(fd);
	return ret < 0 ? -errno : 0;
}

enum path {
	PATH_VM_CREATE, PATH_GPU_FAULT, PATH_GPU_FAULT_VRAM, PATH_MIGRATE,
	PATH_CPU_FAULT, PATH_EVICT,
};

/* What a walk works with. */
struct inject {
	int fd;
	__u32 vm;
	int fail_nth;
	struct drm_vsvm_stats start;
	char *buf;
	__u32 seed;
	/* How the injected runs ended: 0, or -errno; SIGBUS is 1. */
	int outcomes[MAX_SITES + 1];
};

FIXTURE(inject) {
	struct inject in;
};

FIXTURE_VARIANT(inject) {
	enum path path;
	const char *name;
};

FIXTURE_VARIANT_ADD(inject, vm_create) {
	.path = PATH_VM_CREATE, .name = "VM_CREATE",
};

FIXTURE_VARIANT_ADD(inject, gpu_fault) {
	.path = PATH_GPU_FAULT, .name = "GPU fault, system memory (EXEC)",
};

FIXTURE_VARIANT_ADD(inject, gpu_fault_vram) {
	.path = PATH_GPU_FAULT_VRAM, .name = "GPU fault into VRAM (EXEC)",
};

FIXTURE_VARIANT_ADD(inject, migrate) {
	.path = PATH_MIGRATE, .name = "migration to VRAM (PREFETCH)",
};

FIXTURE_VARIANT_ADD(inject, cpu_fault) {
	.path = PATH_CPU_FAULT, .name = "CPU fault from VRAM",
};

FIXTURE_VARIANT_ADD(inject, evict) {
	.path = PATH_EVICT, .name = "eviction (PREFETCH to system)",
};

FIXTURE_SETUP(inject)
{
	struct inject *in = &self->in;
	char path[64];
	int i;

	in->fd = -1;
	if (access(DEBUGFS "failslab", F_OK) ||
	    access(DEBUGFS "fail_page_alloc", F_OK))
		SKIP(return, "no failslab or fail_page_alloc in debugfs");
	in->fd = vsvm_open(0);
	if (in->fd < 0)
		SKIP(return, "no vsvm device");
	for (i = 0; i < (int)ARRAY_SIZE(knobs); i++)
		ASSERT_EQ(0, write_file(knobs[i].file, knobs[i].value))
			TH_LOG("cannot write debugfs knob %d", i);
	ksft_print_msg("gpusvm-expect-dma-debug-off\n");
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	in->fail_nth = open(path, O_RDWR);
	ASSERT_LE(0, in->fail_nth);
	ASSERT_EQ(0, vsvm_vm_create(in->fd, &in->vm));
	ASSERT_EQ(0, vsvm_stats(in->fd, 0, &in->start));
}

FIXTURE_TEARDOWN(inject)
{
	struct inject *in = &self->in;
	int i;

	if (in->fd < 0)
		return;
	for (i = 0; i < (int)ARRAY_SIZE(knobs); i++)
		write_file(knobs[i].file, knobs[i].restore);
	EXPECT_EQ(0, vsvm_vm_destroy(in->fd, in->vm));
	close(in->fd);
}

/* The next k-th allocation of this thread fails. */
static void arm(struct __test_metadata *_metadata, int fd, int k)
{
	char num[16];
	int len = snprintf(num, sizeof(num), "%d", k);

	ASSERT_EQ(len, pwrite(fd, num, len, 0));
}

/* Whether the failure was injected; the countdown is off afterwards. */
static bool disarm(struct __test_metadata *_metadata, int fd)
{
	char num[16] = "";

	ASSERT_LT(0, pread(fd, num, sizeof(num) - 1, 0));
	if (atoi(num) == 0)
		return true;
	ASSERT_EQ(1, pwrite(fd, "0", 1, 0));
	return false;
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/* The CPU reads @buf; 1 if that raised SIGBUS, else 0. */
static int cpu_read(const char *buf, size_t size, __u64 *sum)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1)) {
		sigaction(SIGBUS, &old, NULL);
		return 1;
	}
	*sum = vsvm_checksum(buf, size);
	sigaction(SIGBUS, &old, NULL);
	return 0;
}

static struct drm_vsvm_exec fill_args(struct inject *self,
				      __u32 value, bool vram)
{
	return (struct drm_vsvm_exec) {
		.vm_id = self->vm,
		.op = DRM_VSVM_OP_FILL,
		.dst = vsvm_va(self->buf),
		.size = BUF_SIZE,
		.value = value,
		.flags = vram ? DRM_VSVM_EXEC_VRAM : 0,
	};
}

static __u64 gpu_sum(struct __test_metadata *_metadata,
		     struct inject *self)
{
	struct drm_vsvm_exec e = {
		.vm_id = self->vm,
		.op = DRM_VSVM_OP_CHECKSUM,
		.src = vsvm_va(self->buf),
		.size = BUF_SIZE,
	};

	EXPECT_EQ(0, vsvm_exec(self->fd, &e));
	EXPECT_EQ(0, e.status);
	return e.result;
}

static struct drm_vsvm_stats vm_stats(struct __test_metadata *_metadata,
				      struct inject *self)
{
	struct drm_vsvm_stats st;

	EXPECT_EQ(0, vsvm_stats(self->fd, self->vm, &st));
	return st;
}

/* A new buffer holding a new pattern, in VRAM if @vram. */
static void new_buf(struct __test_metadata *_metadata,
		    struct inject *self, bool vram)
{
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->seed++;
	vsvm_pattern_fill(self->buf, BUF_SIZE, self->seed);
	if (!vram)
		return;
	ASSERT_EQ(0, vsvm_prefetch(self->fd, self->vm, DRM_VSVM_REGION_VRAM,
				   self->buf, BUF_SIZE, 0));
	ASSERT_EQ(BUF_PAGES, vm_stats(_metadata, self).vm_vram_pages_mapped);
}

/*
 * Unmaps the buffer: its VM then holds no range and maps no page once the
 * garbage collector ran, and the device's VRAM is back to the start.
 */
static void drop_buf(struct __test_metadata *_metadata,
		     struct inject *self, int k)
{
	__u64 deadline = vsvm_now_ms() + HANG_MS;
	struct drm_vsvm_stats st, dev;

	ASSERT_EQ(0, munmap(self->buf, BUF_SIZE));
	for (;;) {
		st = vm_stats(_metadata, self);
		ASSERT_EQ(0, vsvm_stats(self->fd, 0, &dev));
		if ((!st.vm_ranges && !st.vm_pages_mapped &&
		     dev.vram_pages_used == self->start.vram_pages_used) ||
		    vsvm_now_ms() > deadline)
			break;
		usleep(VSVM_POLL_US);
	}
	ASSERT_EQ(0, st.vm_ranges)
		TH_LOG("k=%d: ranges left after munmap", k);
	ASSERT_EQ(0, st.vm_pages_mapped)
		TH_LOG("k=%d: pages still mapped after munmap", k);
	ASSERT_EQ(self->start.vram_pages_used, dev.vram_pages_used)
		TH_LOG("k=%d: VRAM pages leaked", k);
	ASSERT_EQ(self->start.iommu_faults, dev.iommu_faults);
	ASSERT_EQ(self->start.stale_iovas, dev.stale_iovas);
}

/*
 * Errors a job or an ioctl may end with when an allocation fails; an
 * eviction also with -EFAULT, "moving a page failed", which is what
 * hmm_range_fault() makes of a CPU fault that ran out of memory.
 */
static bool documented(int err, enum path path)
{
	return !err || err == -ENOMEM || err == -EAGAIN || err == -ENOSPC ||
	       err == -EBUSY || (path == PATH_EVICT && err == -EFAULT);
}

/*
 * One run of the path with the k-th allocation failing; returns how it
 * ended and whether the failure was injected, then checks the state.
 */
static bool run_path(struct __test_metadata *_metadata,
		     struct inject *self, enum path path, int k)
{
	struct drm_vsvm_exec e;
	__u32 vm = 0, value = 0x1000 + k;
	__u64 sum = 0;
	bool fired;
	int ret = 0;
	long bad;

	switch (path) {
	case PATH_VM_CREATE:
		arm(_metadata, self->fail_nth, k);
		ret = vsvm_vm_create(self->fd, &vm);
		fired = disarm(_metadata, self->fail_nth);
		self->outcomes[k] = ret;
		EXPECT_TRUE(!ret || ret == -ENOMEM)
			TH_LOG("k=%d: VM_CREATE: %s", k, strerror(-ret));
		if (!ret)
			EXPECT_EQ(0, vsvm_vm_destroy(self->fd, vm));
		/* Again without injection: a VM that works. */
		ASSERT_EQ(0, vsvm_vm_create(self->fd, &vm));
		EXPECT_EQ(0, vsvm_vm_destroy(self->fd, vm));
		return fired;

	case PATH_GPU_FAULT:
	case PATH_GPU_FAULT_VRAM:
		new_buf(_metadata, self, false);
		e = fill_args(self, value, path == PATH_GPU_FAULT_VRAM);
		arm(_metadata, self->fail_nth, k);
		ret = vsvm_exec(self->fd, &e);
		fired = disarm(_metadata, self->fail_nth);
		if (!ret)
			ret = e.status;
		self->outcomes[k] = ret;
		EXPECT_TRUE(documented(ret, path))
			TH_LOG("k=%d: fill job: %s", k, strerror(-ret));
		/* Up to the fault address written, the rest untouched. */
		if (ret && e.fault_addr >= vsvm_va(self->buf) &&
		    e.fault_addr < vsvm_va(self->buf) + BUF_SIZE) {
			size_t off = e.fault_addr - vsvm_va(self->buf);

			EXPECT_EQ(-1, vsvm_value_mismatch(self->buf, off, value));
			EXPECT_EQ(-1, vsvm_pattern_mismatch(self->buf, off,
							    BUF_SIZE - off,
							    self->seed));
		}
		e = fill_args(self, value + 1, path == PATH_GPU_FAULT_VRAM);
		ASSERT_EQ(0, vsvm_exec(self->fd, &e));
		ASSERT_EQ(0, e.status)
			TH_LOG("k=%d: fill job again: %d", k, e.status);
		EXPECT_EQ(vsvm_value_checksum(value + 1, BUF_SIZE),
			  gpu_sum(_metadata, self));
		EXPECT_EQ(-1, vsvm_value_mismatch(self->buf, BUF_SIZE, value + 1))
			TH_LOG("k=%d: the CPU reads other data", k);
		break;

	case PATH_MIGRATE:
		new_buf(_metadata, self, false);
		arm(_metadata, self->fail_nth, k);
		ret = vsvm_prefetch(self->fd, self->vm, DRM_VSVM_REGION_VRAM,
				    self->buf, BUF_SIZE, 0);
		fired = disarm(_metadata, self->fail_nth);
		self->outcomes[k] = ret;
		EXPECT_TRUE(documented(ret, path))
			TH_LOG("k=%d: prefetch to VRAM: %s", k, strerror(-ret));
		EXPECT_EQ(vsvm_pattern_checksum(self->seed, 0, BUF_SIZE),
			  gpu_sum(_metadata, self));
		ASSERT_EQ(0, vsvm_prefetch(self->fd, self->vm,
					   DRM_VSVM_REGION_VRAM, self->buf,
					   BUF_SIZE, 0));
		EXPECT_EQ(BUF_PAGES, vm_stats(_metadata, self).vm_vram_pages_mapped)
			TH_LOG("k=%d: prefetch again left pages out of VRAM", k);
		EXPECT_EQ(vsvm_pattern_checksum(self->seed, 0, BUF_SIZE),
			  gpu_sum(_metadata, self));
		break;

	case PATH_CPU_FAULT:
		new_buf(_metadata, self, true);
		arm(_metadata, self->fail_nth, k);
		ret = cpu_read(self->buf, BUF_SIZE, &sum);
		fired = disarm(_metadata, self->fail_nth);
		self->outcomes[k] = ret;
		if (!ret)
			EXPECT_EQ(vsvm_pattern_checksum(self->seed, 0, BUF_SIZE), sum)
				TH_LOG("k=%d: the CPU read other data", k);
		break;

	default:
		new_buf(_metadata, self, true);
		arm(_metadata, self->fail_nth, k);
		ret = vsvm_prefetch(self->fd, self->vm, DRM_VSVM_REGION_SYSTEM,
				    self->buf, BUF_SIZE, 0);
		fired = disarm(_metadata, self->fail_nth);
		self->outcomes[k] = ret;
		EXPECT_TRUE(documented(ret, path))
			TH_LOG("k=%d: prefetch to system: %s", k, strerror(-ret));
		ASSERT_EQ(0, vsvm_prefetch(self->fd, self->vm,
					   DRM_VSVM_REGION_SYSTEM, self->buf,
					   BUF_SIZE, 0));
		EXPECT_EQ(0, vm_stats(_metadata, self).vm_vram_pages_mapped);
		break;
	}

	/* Whatever happened, the CPU reads the data, the GPU the same. */
	bad = vsvm_pattern_mismatch(self->buf, 0, BUF_SIZE, self->seed);
	if (path == PATH_GPU_FAULT || path == PATH_GPU_FAULT_VRAM)
		bad = vsvm_value_mismatch(self->buf, BUF_SIZE, value + 1);
	EXPECT_EQ(-1, bad)
		TH_LOG("k=%d: word at +%#lx lost", k, bad);
	drop_buf(_metadata, self, k);
	return fired;
}

TEST_F_TIMEOUT(inject, every_site, 900)
{
	struct inject *in = &self->in;
	char line[512];
	int k, n, i, j, len;
	bool seen;

	for (k = 1; k <= MAX_SITES; k++) {
		if (!run_path(_metadata, in, variant->path, k))
			break;
		if (_metadata->exit_code == KSFT_FAIL)	/* a failed check */
			break;
	}
	ASSERT_GE(MAX_SITES, k)
		TH_LOG("%s: still failing allocations at k=%d", variant->name, k);

	/* The sites, then how many runs ended how. */
	n = k - 1;
	len = snprintf(line, sizeof(line), "inject: %s: %d sites; outcomes:",
		       variant->name, n);
	for (i = 1; i <= n; i++) {
		seen = false;
		for (j = 1; j < i && !seen; j++)
			seen = in->outcomes[j] == in->outcomes[i];
		if (seen)
			continue;
		for (j = i, k = 0; j <= n; j++)
			k += in->outcomes[j] == in->outcomes[i];
		len += snprintf(line + len, sizeof(line) - len, " %s %d,",
				in->outcomes[i] == 1 ? "SIGBUS" :
				in->outcomes[i] ? strerror(-in->outcomes[i]) :
				"success", k);
		if (len >= (int)sizeof(line) - 40)
			break;
	}
	ksft_print_msg("%s\n", line);
}

TEST_HARNESS_MAIN
