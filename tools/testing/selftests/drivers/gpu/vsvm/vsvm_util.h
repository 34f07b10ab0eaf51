/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the vsvm selftests that need no test harness: ioctl wrappers
 * that return 0 or -errno, the data patterns the tests write and the
 * checksum the GPU computes over them, and clock and child helpers.
 */

#ifndef __VSVM_UTIL_H
#define __VSVM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The uAPI headers may come straight from a kernel tree, not installed. */
#ifndef __user
#define __user
#endif

#include "kselftest.h"
#include "vsvm_drm.h"

#define VSVM_PAGE_SIZE		4096UL

/* How often the helpers that wait for something look again. */
#define VSVM_POLL_US		10000

/* Opens vsvm device @index (renderD128 is device 0); returns an fd or -errno. */
static inline int vsvm_open(int index)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/dri/renderD%d", 128 + index);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static inline int vsvm_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) ? -errno : 0;
}

static inline int vsvm_vm_create(int fd, __u32 *vm_id)
{
	struct drm_vsvm_vm_create args = {};
	int ret;

	ret = vsvm_ioctl(fd, DRM_IOCTL_VSVM_VM_CREATE, &args);
	if (!ret)
		*vm_id = args.vm_id;
	return ret;
}

static inline int vsvm_vm_destroy(int fd, __u32 vm_id)
{
	struct drm_vsvm_vm_destroy args = { .vm_id = vm_id };

	return vsvm_ioctl(fd, DRM_IOCTL_VSVM_VM_DESTROY, &args);
}

/* GPU virtual addresses are the CPU virtual addresses of the VM's creator. */
static inline __u64 vsvm_va(const void *p)
{
	return (uintptr_t)p;
}

static inline int vsvm_prefetch(int fd, __u32 vm_id, __u32 region,
				const void *start, size_t size,
				__u32 timeslice_ms)
{
	struct drm_vsvm_prefetch args = {
		.vm_id = vm_id,
		.region = region,
		.start = vsvm_va(start),
		.size = size,
		.timeslice_ms = timeslice_ms,
	};

	return vsvm_ioctl(fd, DRM_IOCTL_VSVM_PREFETCH, &args);
}

/* Device counters, and those of VM @vm_id unless it is 0. */
static inline int vsvm_stats(int fd, __u32 vm_id, struct drm_vsvm_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->vm_id = vm_id;
	return vsvm_ioctl(fd, DRM_IOCTL_VSVM_STATS, stats);
}

static inline int vsvm_exec(int fd, struct drm_vsvm_exec *exec)
{
	return vsvm_ioctl(fd, DRM_IOCTL_VSVM_EXEC, exec);
}

/* Sets the placement and atomic attributes of a span of VM @vm_id. */
static inline int vsvm_madvise(int fd, __u32 vm_id, const void *start,
			       size_t size, __u32 placement, __u32 atomic)
{
	struct drm_vsvm_madvise args = {
		.vm_id = vm_id,
		.start = vsvm_va(start),
		.size = size,
		.placement = placement,
		.atomic = atomic,
	};

	return vsvm_ioctl(fd, DRM_IOCTL_VSVM_MADVISE, &args);
}

/*
 * Word @i of pattern @seed. The multipliers are odd, so that two patterns of
 * different seeds differ in every word and no word repeats in a pattern.
 */
static inline __u32 vsvm_pattern_word(__u32 seed, size_t i)
{
	return (__u32)i * 0x9e3779b1u + seed * 0x85ebca77u + 1;
}

static inline void vsvm_pattern_fill(void *buf, size_t size, __u32 seed)
{
	__u32 *word = buf;
	size_t i;

	for (i = 0; i < size / 4; i++)
		word[i] = vsvm_pattern_word(seed, i);
}

/*
 * Byte offset of the first word of bytes [@off, @off + @size) of @base that
 * does not hold pattern @seed (numbered from @base), or -1.
 */
static inline long vsvm_pattern_mismatch(const void *base, size_t off,
					 size_t size, __u32 seed)
{
	const __u32 *word = base;
	size_t i;

	for (i = off / 4; i < (off + size) / 4; i++)
		if (word[i] != vsvm_pattern_word(seed, i))
			return i * 4;
	return -1;
}

/* Byte offset of the first word of @buf that is not @value, or -1. */
static inline long vsvm_value_mismatch(const void *buf, size_t size,
				       __u32 value)
{
	const __u32 *word = buf;
	size_t i;

	for (i = 0; i < size / 4; i++)
		if (word[i] != value)
			return i * 4;
	return -1;
}

/* What DRM_VSVM_OP_CHECKSUM returns for @size bytes at @buf. */
static inline __u64 vsvm_checksum(const void *buf, size_t size)
{
	const unsigned char *byte = buf;
	__u64 sum = 0;
	size_t i;

	for (i = 0; i < size; i++)
		sum += (__u64)byte[i] * (i + 1);
	return sum;
}

/* The checksum of bytes [@off, @off + @size) of a buffer with pattern @seed. */
static inline __u64 vsvm_pattern_checksum(__u32 seed, size_t off, size_t size)
{
	unsigned char bytes[4];
	__u64 sum = 0;
	size_t i;
	__u32 word;

	for (i = 0; i < size; i++) {
		word = vsvm_pattern_word(seed, (off + i) / 4);
		memcpy(bytes, &word, sizeof(bytes));
		sum += (__u64)bytes[(off + i) % 4] * (i + 1);
	}
	return sum;
}

/* The checksum of @size bytes of words that all hold @value. */
static inline __u64 vsvm_value_checksum(__u32 value, size_t size)
{
	unsigned char bytes[4];
	__u64 sum = 0;
	size_t i;

	memcpy(bytes, &value, sizeof(bytes));
	for (i = 0; i < size; i++)
		sum += (__u64)bytes[i % 4] * (i + 1);
	return sum;
}

static inline __u64 vsvm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits up to @timeout_ms for child @pid to end and stores its wait status.
 * A child still there then is killed and reaped, so that no test leaves one
 * behind holding a device file. Returns 0, -ETIMEDOUT or -errno.
 */
static inline int vsvm_wait_child(pid_t pid, unsigned int timeout_ms,
				  int *status)
{
	__u64 deadline = vsvm_now_ms() + timeout_ms;
	pid_t ret;

	for (;;) {
		ret = waitpid(pid, status, WNOHANG);
		if (ret == pid)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (vsvm_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -ETIMEDOUT;
		}
		usleep(VSVM_POLL_US);
	}
}

/* One byte through a pipe: how a parent and a child take turns. */
static inline int vsvm_send_byte(int fd)
{
	char byte = 1;
	ssize_t ret;

	do {
		ret = write(fd, &byte, 1);
	} while (ret < 0 && errno == EINTR);
	return ret == 1 ? 0 : -1;
}

/* Returns 1 for a byte, 0 when the other side closed the pipe, -1 on error. */
static inline int vsvm_wait_byte(int fd)
{
	char byte;
	ssize_t ret;

	do {
		ret = read(fd, &byte, 1);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -1 : ret;
}

#endif /* __VSVM_UTIL_H */
