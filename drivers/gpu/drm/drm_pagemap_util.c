// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Owner groups: device-private owners shared by devices that reach each
 * other's memory.
 */

#include <linux/export.h>
#include <linux/slab.h>

#include <drm/drm_pagemap_util.h>

#include "drm_gpusvm_inject.h"

/*
 * The owner allocation can be made to fail with the task's fault-injection
 * counter (fail-nth), like the allocations of the migration paths.
 */
/**
 * DOC: Owner groups
 *
 * hmm_range_fault() and migrate_vma_setup() tell device pages apart by their
 * &dev_pagemap.owner: a GPU VM faulting with an owner sees the device pages of
 * that owner as they are and gets any other device page back in system
 * memory. Devices that reach each other's memory over an interconnect should
 * therefore share one owner, so that each maps the others' pages in place
 * (through the page's own &drm_pagemap_ops.device_map) instead of bouncing
 * them through system memory; devices that cannot must have owners of their
 * own, or they would be handed pages they cannot reach.
 *
 * A driver keeps a &struct drm_pagemap_owner_list (usually one per driver)
 * and gives each device, or each device memory region, a
 * &struct drm_pagemap_peer. drm_pagemap_acquire_owner() puts the peer in the
 * first group of the list with whose every member it has an interconnect, in
 * both directions, or in a new group of its own; the group's
 * &struct drm_pagemap_owner is then the &dev_pagemap.owner of the peer's
 * region and the &drm_gpusvm_ctx.device_private_page_owner of its GPU VMs.
 * Acquire the owner before memremap_pages() and release it with
 * drm_pagemap_release_owner() only after memunmap_pages() and after the last
 * GPU VM using it is gone: the owner is compared by address, and a freed
 * owner's address may be reused by a new group.
 *
 * Within a group the placement of a page stays where it is: a GPU VM maps it
 * where it lies, and a migration to another region of the group refuses
 * (``-EBUSY``) rather than copy between two devices; a range that holds
 * pages of two regions cannot be mapped at once (``-EOPNOTSUPP``) and is
 * evicted to system memory first.
 */

/* Both directions: every member maps every other member's pages. */
static bool drm_pagemap_peers_connected(struct drm_pagemap_peer *p1,
					struct drm_pagemap_peer *p2,
					bool (*has_interconnect)(struct drm_pagemap_peer *,
								 struct drm_pagemap_peer *))
{
	return has_interconnect(p1, p2) && has_interconnect(p2, p1);
}

/**
 * drm_pagemap_acquire_owner() - Join a group of peers sharing an owner
 * @peer: Pointer to the peer, zeroed or released, its &drm_pagemap_peer.private
 *	set as @has_interconnect needs it.
 * @owner_list: The list of peers to group @peer with.
 * @has_interconnect: Whether the first peer can reach the second one's device
 *	memory directly. Called with the list's lock held, for @peer and each
 *	member of the list, in both orders; must not sleep on anything that
 *	acquiring an owner may wait for.
 *
 * @peer joins the first group of @owner_list with whose every member it has
 * an interconnect in both directions; without such a group it starts one with
 * a new owner. &drm_pagemap_peer.owner is then set until
 * drm_pagemap_release_owner().
 *
 * Context: Process context; takes the list's mutex, so may sleep.
 * Returns: 0 on success, -EINVAL if an argument is NULL or @peer is already
 * on a list, -ENOMEM if a new owner cannot be allocated, -EINTR if a signal
 * interrupted the wait for the list's lock.
 */
int drm_pagemap_acquire_owner(struct drm_pagemap_peer *peer,
			      struct drm_pagemap_owner_list *owner_list,
			      bool (*has_interconnect)(struct drm_pagemap_peer *p1,
						       struct drm_pagemap_peer *p2))
{
	struct drm_pagemap_peer *cur, *last = NULL;
	struct drm_pagemap_owner *owner = NULL;
	bool joinable = false;
	int err;

	if (!peer || !owner_list || !has_interconnect || peer->list)
		return -EINVAL;

	err = mutex_lock_interruptible(&owner_list->lock);
	if (err)
		return err;

	/* The peers of one owner are contiguous: walk group by group. */
	list_for_each_entry(cur, &owner_list->peers, link) {
		if (cur->owner != owner) {
			if (joinable)
				break;
			owner = cur->owner;
			joinable = true;
		}
		if (joinable &&
		    !drm_pagemap_peers_connected(peer, cur, has_interconnect))
			joinable = false;
		last = cur;
	}

	if (joinable) {
		kref_get(&owner->kref);
		list_add(&peer->link, &last->link);
	} else {
		owner = NULL;
		if (!drm_gpusvm_should_fail(sizeof(*owner)))
			owner = kzalloc(sizeof(*owner), GFP_KERNEL);
		if (!owner) {
			mutex_unlock(&owner_list->lock);
			return -ENOMEM;
		}
		kref_init(&owner->kref);
		list_add_tail(&peer->link, &owner_list->peers);
	}
	peer->owner = owner;
	peer->list = owner_list;
	mutex_unlock(&owner_list->lock);

	return 0;
}
EXPORT_SYMBOL_GPL(drm_pagemap_acquire_owner);

static void drm_pagemap_owner_release(struct kref *kref)
{
	kfree(container_of(kref, struct drm_pagemap_owner, kref));
}

/**
 * drm_pagemap_release_owner() - Leave the group of a peer
 * @peer: Pointer to the peer; nothing happens if it is on no list.
 *
 * Drops the peer's reference to its owner (the last one frees it) and takes
 * the peer off its list; the other members of the group keep their owner.
 * Call it only once no device page of the peer's region exists and no GPU VM
 * uses the owner any more.
 *
 * Context: Process context; takes the list's mutex, so may sleep.
 * Returns: Nothing.
 */
void drm_pagemap_release_owner(struct drm_pagemap_peer *peer)
{
	struct drm_pagemap_owner_list *owner_list = peer->list;

	if (!owner_list)
		return;

	mutex_lock(&owner_list->lock);
	list_del(&peer->link);
	kref_put(&peer->owner->kref, drm_pagemap_owner_release);
	peer->owner = NULL;
	peer->list = NULL;
	mutex_unlock(&owner_list->lock);
}
EXPORT_SYMBOL_GPL(drm_pagemap_release_owner);
