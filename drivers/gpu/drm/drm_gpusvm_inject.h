/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fault-injection sites of the GPU SVM helpers (drm_gpusvm, drm_pagemap
 * and drm_pagemap_util), private to the helpers' module: see "Fault
 * injection" in drm_gpusvm.c.
 */
#ifndef __DRM_GPUSVM_INJECT_H__
#define __DRM_GPUSVM_INJECT_H__

#include <linux/fault-inject.h>
#include <linux/types.h>

#ifdef CONFIG_DRM_GPUSVM_FAULT_INJECTION
extern struct fault_attr drm_gpusvm_fail_attr;

/* One fault-injection site: true if the task's fail-nth counter says so. */
static inline bool drm_gpusvm_should_fail(size_t size)
{
	return should_fail(&drm_gpusvm_fail_attr, size);
}
#else
static inline bool drm_gpusvm_should_fail(size_t size)
{
	return false;
}
#endif

#endif /* __DRM_GPUSVM_INJECT_H__ */
