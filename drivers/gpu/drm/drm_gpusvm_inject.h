/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fault-injection sites of the GPU SVM helpers (drm_gpusvm, drm_pagemap
 * and drm_pagemap_util), private to the helpers' module: see "Fault
 * injection" in drm_gpusvm.c.
 */
#ifndef __DRM_GPUSVM_INJECT_H__
#define __DRM_GPUSVM_INJECT_H__

#include <linux/types.h>

#ifdef CONFIG_DRM_GPUSVM_FAULT_INJECTION
bool drm_gpusvm_should_fail(size_t size);
#else
static inline bool drm_gpusvm_should_fail(size_t size)
{
	return false;
}
#endif

#endif /* __DRM_GPUSVM_INJECT_H__ */
