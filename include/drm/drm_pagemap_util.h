/* SPDX-License-Identifier: GPL-2.0-only OR MIT */

#ifndef __DRM_PAGEMAP_UTIL_H__
#define __DRM_PAGEMAP_UTIL_H__

#include <linux/errno.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

/**
 * struct drm_pagemap_owner - A device-private owner shared by a group of peers
 *
 * The address of this object is the &dev_pagemap.owner of every region of
 * the group and the &drm_gpusvm_ctx.device_private_page_owner of every GPU VM
 * of the group: each maps the device pages of all the others in place.
 */
struct drm_pagemap_owner {
	/** @kref: One reference per peer of the group. */
	struct kref kref;
};

/**
 * struct drm_pagemap_owner_list - Peers that may share device-private owners
 *
 * Typically one per driver. Peers of one owner are kept next to each other.
 */
struct drm_pagemap_owner_list {
	/** @lock: Protects @peers and the owners of its peers. */
	struct mutex lock;
	/** @peers: The peers, grouped by owner. */
	struct list_head peers;
};

/**
 * drm_pagemap_owner_list_init() - Initialise an owner list
 * @owner_list: Pointer to the list, typically one per driver.
 *
 * Context: Any context, before any other use of @owner_list; does not sleep.
 * Returns: Nothing.
 */
static inline void
drm_pagemap_owner_list_init(struct drm_pagemap_owner_list *owner_list)
{
	mutex_init(&owner_list->lock);
	INIT_LIST_HEAD(&owner_list->peers);
}

/**
 * struct drm_pagemap_peer - One device (or one device memory region) of an
 * owner list
 *
 * Embedded by the driver, e.g. in its per-device structure. Zero it before
 * drm_pagemap_acquire_owner().
 */
struct drm_pagemap_peer {
	/** @list: The owner list the peer is on, NULL when it is on none. */
	struct drm_pagemap_owner_list *list;
	/** @link: Entry in &drm_pagemap_owner_list.peers. */
	struct list_head link;
	/**
	 * @owner: The device-private owner of the peer's group, valid from
	 * drm_pagemap_acquire_owner() until drm_pagemap_release_owner().
	 */
	struct drm_pagemap_owner *owner;
	/** @private: For the driver, e.g. to find its device in has_interconnect. */
	void *private;
};

#if IS_ENABLED(CONFIG_DEVICE_PRIVATE)

int drm_pagemap_acquire_owner(struct drm_pagemap_peer *peer,
			      struct drm_pagemap_owner_list *owner_list,
			      bool (*has_interconnect)(struct drm_pagemap_peer *p1,
						       struct drm_pagemap_peer *p2));
void drm_pagemap_release_owner(struct drm_pagemap_peer *peer);

#else

/* Without device-private memory there are no device pages to share. */
static inline int
drm_pagemap_acquire_owner(struct drm_pagemap_peer *peer,
			  struct drm_pagemap_owner_list *owner_list,
			  bool (*has_interconnect)(struct drm_pagemap_peer *p1,
						   struct drm_pagemap_peer *p2))
{
	return -EOPNOTSUPP;
}

static inline void drm_pagemap_release_owner(struct drm_pagemap_peer *peer)
{
}

#endif /* IS_ENABLED(CONFIG_DEVICE_PRIVATE) */

#endif /* __DRM_PAGEMAP_UTIL_H__ */
