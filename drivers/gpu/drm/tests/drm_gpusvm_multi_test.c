// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of several GPU SVM instances on one mm: GPU VMs of one device
 * and of several devices, with different device-private owners or one owner
 * group. Device memory is per device, ranges are per GPU VM: every case
 * checks that each VM sees the bytes the CPU wrote, wherever they are.
 */

#include <kunit/test.h>

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>
#include <drm/drm_pagemap_util.h>

#include "drm_gpusvm_test_gpu.h"
#include "drm_gpusvm_test_vram.h"

/* The most devices a case uses. */
#define MULTI_MAX_DEVS	3

/*
 * One emulated device: its first GPU VM, its VRAM, its place in the owner
 * list, and what its placement policy did.
 */
struct multi_dev {
	struct multi_test *t;
	struct test_gpu *gpu;
	struct test_vram *vram;
	struct drm_pagemap_peer peer;
	int id;
	atomic_t migrations;	/* the policy moved a range into @vram */
	atomic_t refused;	/* a migration was refused: pages stay put */
	atomic_t in_place;	/* pages already on @vram or on a peer's */
};

struct multi_test {
	struct kunit *test;
	struct mm_struct *mm;
	unsigned long addr;	/* 2M of anonymous memory, no THP */
	struct drm_pagemap_owner_list owners;
	/* interconnect[i][j]: device i reaches device j's memory. */
	bool interconnect[MULTI_MAX_DEVS][MULTI_MAX_DEVS];
	struct multi_dev *devs[MULTI_MAX_DEVS];
	int ndevs;
};

static int multi_test_init(struct kunit *test)
{
	struct multi_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->test = test;
	t->addr = ALIGN(test_mmap(test, SZ_4M, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE), SZ_2M);
	t->mm = current->mm;
	/* 4K device pages only on 6.12: keep THP out of the way. */
	KUNIT_ASSERT_EQ(test, do_madvise(t->mm, t->addr, SZ_2M,
					 MADV_NOHUGEPAGE), 0);
	drm_pagemap_owner_list_init(&t->owners);
	test->priv = t;
	return 0;
}

static bool multi_has_interconnect(struct drm_pagemap_peer *p1,
				   struct drm_pagemap_peer *p2)
{
	struct multi_dev *d1 = p1->private, *d2 = p2->private;

	return d1->t->interconnect[d1->id][d2->id];
}

/*
 * The placement policy of a driver: leave pages that are already on this
 * device, or on a peer it reaches, where they are; otherwise try to move the
 * range into this device's memory. A refusal is fine: the fault goes on and
 * gets the pages in system memory.
 */
static int multi_migrate(struct test_gpu *gpu, struct drm_gpusvm_range *range)
{
	struct multi_dev *d = gpu->migrate_data;
	int err;

	switch (drm_gpusvm_scan_mm(range, d->peer.owner, &d->vram->dpagemap)) {
	case DRM_GPUSVM_SCAN_EQUAL:
	case DRM_GPUSVM_SCAN_OTHER:
		atomic_inc(&d->in_place);
		return 0;
	default:
		break;
	}

	err = test_vram_migrate(d->vram, gpu->mm, drm_gpusvm_range_start(range),
				drm_gpusvm_range_end(range),
				gpu->ctx.timeslice_ms, NULL);
	atomic_inc(err ? &d->refused : &d->migrations);
	return err;
}

/* A GPU VM of device @d: faults with its owner and its placement policy. */
static void multi_vm_setup(struct multi_dev *d, struct test_gpu *gpu)
{
	gpu->ctx.device_private_page_owner = d->peer.owner;
	gpu->ctx.devmem_possible = true;
	gpu->ctx.allow_mixed = true;
	gpu->migrate = multi_migrate;
	gpu->migrate_data = d;
}

static void multi_release_owner(void *peer)
{
	drm_pagemap_release_owner(peer);
}

/*
 * A device with one GPU VM and 16M of VRAM. Its owner comes from the case's
 * owner list, so the interconnect matrix must be set before.
 */
static struct multi_dev *multi_dev_create(struct multi_test *t)
{
	struct kunit *test = t->test;
	struct multi_dev *d;

	KUNIT_ASSERT_LT(test, t->ndevs, MULTI_MAX_DEVS);
	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	d->t = t;
	d->id = t->ndevs;
	d->peer.private = d;
	atomic_set(&d->migrations, 0);
	atomic_set(&d->refused, 0);
	atomic_set(&d->in_place, 0);

	KUNIT_ASSERT_EQ(test, drm_pagemap_acquire_owner(&d->peer, &t->owners,
							multi_has_interconnect),
			0);
	/* Released after the VRAM is gone: case actions run in reverse. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							multi_release_owner,
							&d->peer), 0);
	d->gpu = test_gpu_create_default(test);
	d->vram = test_vram_create(test, d->peer.owner);
	multi_vm_setup(d, d->gpu);
	t->devs[t->ndevs++] = d;
	return d;
}

/* Another GPU VM on the device of @d. */
static struct test_gpu *multi_vm_create(struct multi_dev *d)
{
	struct test_gpu *gpu = test_gpu_create_vm(d->gpu);

	multi_vm_setup(d, gpu);
	return gpu;
}

/* Set whether device @i reaches device @j's memory and the reverse. */
static void multi_connect(struct multi_test *t, int i, int j, bool connected)
{
	t->interconnect[i][j] = connected;
	t->interconnect[j][i] = connected;
}

/*
 * Devices 1 and 2, in one owner group or with owners of their own; @gpus
 * gets their first GPU VMs.
 */
static void multi_two_devs(struct multi_test *t, bool group,
			   struct multi_dev **d1, struct multi_dev **d2,
			   struct test_gpu **gpus)
{
	multi_connect(t, 0, 1, group);
	*d1 = multi_dev_create(t);
	*d2 = multi_dev_create(t);
	gpus[0] = (*d1)->gpu;
	gpus[1] = (*d2)->gpu;
}

static unsigned long device_pages(struct multi_test *t, struct test_vram *vram,
				  unsigned long addr, size_t len)
{
	unsigned long n = 0, a;

	for (a = addr; a < addr + len; a += PAGE_SIZE)
		n += test_vram_is_device_page(vram, t->mm, a);
	return n;
}

/* Tear every GPU VM down, then every VRAM, and expect nothing leaked. */
static void multi_expect_clean(struct multi_test *t, struct test_gpu **gpus,
			       unsigned int ngpus)
{
	int i;

	test_gpus_expect_clean(gpus, ngpus);
	for (i = 0; i < t->ndevs; i++)
		test_vram_expect_clean(t->devs[i]->vram);
}

/*
 * Two VMs, one device: VM B maps the span in system memory; VM A's fault
 * migrates it, which invalidates VM B through its own notifier; VM B's next
 * fault maps the same device pages in place, with no second migration. The
 * CPU writes (moving the pages back), which invalidates both, and both read
 * the new data.
 */
static void multi_two_vms_one_device(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct multi_dev *d = multi_dev_create(t);
	struct test_gpu *gpus[2] = { d->gpu, multi_vm_create(d) };
	struct drm_gpusvm_range *range;

	test_fill_user(test, t->addr, SZ_64K, 1);
	gpus[1]->migrate = NULL;
	test_expect_data(test, gpus[1], t->addr, SZ_64K, 1);
	gpus[1]->migrate = multi_migrate;
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(gpus[1], t->addr));
	KUNIT_EXPECT_GT(test, test_gpu_dma_entries(gpus[1]), 0);

	test_expect_data(test, gpus[0], t->addr, SZ_64K, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->migrations), 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, d->vram, t->addr, SZ_64K), 16);
	/* VM A's migration reached VM B as a migration by this device. */
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpus[1], t->addr));
	KUNIT_EXPECT_EQ(test, test_gpu_dma_entries(gpus[1]), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(gpus[1]->last_event),
			MMU_NOTIFY_MIGRATE);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(gpus[1]->last_owner),
			    d->peer.owner);

	test_expect_data(test, gpus[1], t->addr, SZ_64K, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->migrations), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->in_place), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->vram->allocations), 1);
	range = test_gpu_range_at(gpus[1], t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_PTR_EQ(test, range->pages.dpagemap, &d->vram->dpagemap);
	/* Both VMs map the device pages of the range (4K entries on 6.12). */
	KUNIT_EXPECT_EQ(test, atomic_read(&d->vram->device_maps),
			2 * SZ_2M / PAGE_SIZE);

	test_fill_user(test, t->addr, SZ_64K, 2);
	KUNIT_EXPECT_EQ(test, device_pages(t, d->vram, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpus[0], t->addr));
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpus[1], t->addr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->vram->device_maps), 0);

	test_expect_data(test, gpus[1], t->addr, SZ_64K, 2);
	test_expect_data(test, gpus[0], t->addr, SZ_64K, 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->migrations), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->in_place), 2);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * Two devices with owners of their own: device 1 migrates; device 2's fault
 * cannot take device 1's pages, gets them back in system memory and
 * invalidates device 1's VM; then the reverse.
 */
static void multi_two_devices_two_owners(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct multi_dev *d1, *d2;
	struct test_gpu *gpus[2];

	multi_two_devs(t, false, &d1, &d2, gpus);

	KUNIT_EXPECT_PTR_NE(test, d1->peer.owner, d2->peer.owner);
	test_fill_user(test, t->addr, SZ_64K, 3);

	test_expect_data(test, d1->gpu, t->addr, SZ_64K, 3);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->migrations), 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 16);

	/* Device 2 refuses to take device 1's pages; the fault moves them. */
	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 3);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->refused), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->migrations), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, d2->vram, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(d1->gpu, t->addr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->device_maps), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->allocations), 0);

	/* The reverse: device 2 migrates on its next fault, device 1 loses. */
	test_gpu_remove_all_ranges(d2->gpu);
	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 3);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->migrations), 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, d2->vram, t->addr, SZ_64K), 16);

	test_expect_data(test, d1->gpu, t->addr, SZ_64K, 3);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->refused), 1);
	KUNIT_EXPECT_EQ(test, device_pages(t, d2->vram, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(d2->gpu, t->addr));
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->vram->allocations), 0);

	/* Nothing was lost on the way. */
	test_expect_data(test, NULL, t->addr, SZ_64K, 3);
	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 3);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * Two devices in one owner group: device 2 maps device 1's pages through
 * device 1's device_map, with no migration; its writes land in device 1's
 * memory and reach the CPU.
 */
static void multi_owner_group_maps_peer_pages(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct multi_dev *d1, *d2;
	struct test_gpu *gpus[2];
	struct drm_gpusvm_range *range;
	u64 val = 0x5eed5eed5eed5eedULL;

	multi_two_devs(t, true, &d1, &d2, gpus);
	KUNIT_ASSERT_PTR_EQ(test, d1->peer.owner, d2->peer.owner);

	test_fill_user(test, t->addr, SZ_64K, 5);
	test_expect_data(test, d1->gpu, t->addr, SZ_64K, 5);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->migrations), 1);

	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 5);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->migrations), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->refused), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->in_place), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->vram->allocations), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 16);
	/* Device 1's pages, mapped for device 2 by device 1's pagemap. */
	range = test_gpu_range_at(d2->gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_PTR_EQ(test, range->pages.dpagemap, &d1->vram->dpagemap);
	KUNIT_EXPECT_TRUE(test, range->pages.flags.has_devmem_pages);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->device_maps),
			2 * SZ_2M / PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->vram->device_maps), 0);

	/* A write through the peer mapping is seen by device 1 and the CPU. */
	KUNIT_ASSERT_EQ(test, test_gpu_write(d2->gpu, t->addr + SZ_8K, &val,
					     sizeof(val)), 0);
	val = 0;
	KUNIT_ASSERT_EQ(test, test_gpu_read(d1->gpu, t->addr + SZ_8K, &val,
					    sizeof(val)), 0);
	KUNIT_EXPECT_EQ(test, val, 0x5eed5eed5eed5eedULL);
	val = 0;
	KUNIT_ASSERT_EQ(test, copy_from_user(&val, (void __user *)(t->addr +
								   SZ_8K),
					     sizeof(val)), 0);
	KUNIT_EXPECT_EQ(test, val, 0x5eed5eed5eed5eedULL);
	test_expect_data(test, NULL, t->addr, SZ_8K, 5);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * One owner group, a range holding pages of both pagemaps: they cannot be
 * mapped at once (-EOPNOTSUPP, nothing mapped); eviction and a retry work,
 * and the fault handler's evict-and-retry gets there by itself.
 */
static void multi_owner_group_two_pagemaps(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct multi_dev *d1, *d2;
	struct test_gpu *gpus[2];
	struct drm_gpusvm_range *range;
	struct test_gpu *gpu;
	int i, err;

	multi_two_devs(t, true, &d1, &d2, gpus);
	gpu = d1->gpu;
	/* Ranges of 64K: each half of the range on one device. */
	for (i = 0; i < ARRAY_SIZE(gpus); i++) {
		gpus[i]->gpuva_start = t->addr;
		gpus[i]->gpuva_end = t->addr + SZ_64K;
	}

	test_fill_user(test, t->addr, SZ_64K, 6);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(d1->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(d2->vram, t->mm,
						t->addr + SZ_32K,
						t->addr + SZ_64K, 0, NULL), 0);

	mutex_lock(&gpu->lock);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, t->addr,
						gpu->gpuva_start,
						gpu->gpuva_end, &gpu->ctx);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, range);
	drm_gpusvm_range_get(range);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_scan_mm(range, d1->peer.owner,
						 &d1->vram->dpagemap),
			DRM_GPUSVM_SCAN_MIXED_DEVICE);
	err = drm_gpusvm_range_get_pages(&gpu->gpusvm, range, &gpu->ctx);
	mutex_unlock(&gpu->lock);
	KUNIT_EXPECT_EQ(test, err, -EOPNOTSUPP);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->device_maps), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->vram->device_maps), 0);

	KUNIT_EXPECT_EQ(test, test_gpu_range_evict(gpu, range), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, device_pages(t, d2->vram, t->addr, SZ_64K), 0);
	mutex_lock(&gpu->lock);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_get_pages(&gpu->gpusvm, range,
							 &gpu->ctx), 0);
	mutex_unlock(&gpu->lock);
	drm_gpusvm_range_put(range);
	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 6);

	/* Again, through the fault handler alone (evict by a CPU read first). */
	test_expect_data(test, NULL, t->addr, SZ_64K, 6);
	test_gpu_remove_all_ranges(d1->gpu);
	test_gpu_remove_all_ranges(d2->gpu);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(d1->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(d2->vram, t->mm,
						t->addr + SZ_32K,
						t->addr + SZ_64K, 0, NULL), 0);
	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 6);
	test_expect_data(test, d1->gpu, t->addr, SZ_64K, 6);
	test_expect_data(test, NULL, t->addr, SZ_64K, 6);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * One owner group, a range half on device 1 and half in system memory:
 * device 2 maps both halves in one go when it allows mixing (the system
 * half with the DMA API, device 1's half through device 1's pagemap);
 * without allow_mixed it gets -EOPNOTSUPP with nothing mapped, and its
 * fault handler evicts and retries.
 */
static void multi_owner_group_peer_and_system_pages(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct drm_gpusvm_range *range;
	struct multi_dev *d1, *d2;
	struct test_gpu *gpus[2];
	struct test_gpu *gpu;
	int i, err;

	multi_two_devs(t, true, &d1, &d2, gpus);
	gpu = d2->gpu;
	for (i = 0; i < ARRAY_SIZE(gpus); i++) {
		gpus[i]->gpuva_start = t->addr;
		gpus[i]->gpuva_end = t->addr + SZ_64K;
		gpus[i]->migrate = NULL;
	}
	test_fill_user(test, t->addr, SZ_64K, 14);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(d1->vram, t->mm, t->addr,
						t->addr + SZ_32K, 0, NULL), 0);

	test_expect_data(test, gpu, t->addr, SZ_64K, 14);
	range = test_gpu_range_at(gpu, t->addr);
	KUNIT_ASSERT_NOT_NULL(test, range);
	KUNIT_EXPECT_PTR_EQ(test, range->pages.dpagemap, &d1->vram->dpagemap);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->device_maps),
			SZ_32K / PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 8);
	KUNIT_EXPECT_EQ(test, test_gpu_scan_mm(gpu, range, d2->peer.owner,
					       &d2->vram->dpagemap),
			DRM_GPUSVM_SCAN_MIXED);

	/* Without mixing, nothing stays mapped; the fault loop evicts. */
	test_gpu_remove_all_ranges(gpu);
	gpu->ctx.allow_mixed = false;
	mutex_lock(&gpu->lock);
	range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, t->addr,
						gpu->gpuva_start,
						gpu->gpuva_end, &gpu->ctx);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, range);
	err = drm_gpusvm_range_get_pages(&gpu->gpusvm, range, &gpu->ctx);
	mutex_unlock(&gpu->lock);
	KUNIT_EXPECT_EQ(test, err, -EOPNOTSUPP);
	KUNIT_EXPECT_FALSE(test, range->pages.flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->device_maps), 0);

	test_expect_data(test, gpu, t->addr, SZ_64K, 14);
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->allocations), 0);
	test_expect_data(test, d1->gpu, t->addr, SZ_64K, 14);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * Three VMs: two on device 1, one on device 2, with owners of their own or
 * one owner group. With two owners, device 2's fault takes the pages back
 * to system memory and both VMs of device 1 are invalidated; with one
 * group, all three map device 1's pages in place.
 */
static void multi_three_vms_two_devices(struct kunit *test)
{
	bool group = *(const bool *)test->param_value;
	struct multi_test *t = test->priv;
	struct multi_dev *d1, *d2;
	struct test_gpu *gpus[3];
	int i;

	multi_two_devs(t, group, &d1, &d2, gpus);
	gpus[2] = d2->gpu;
	gpus[1] = multi_vm_create(d1);

	test_fill_user(test, t->addr, SZ_64K, 7);
	test_expect_data(test, gpus[0], t->addr, SZ_64K, 7);
	test_expect_data(test, gpus[1], t->addr, SZ_64K, 7);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->migrations), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->in_place), 1);

	test_expect_data(test, gpus[2], t->addr, SZ_64K, 7);
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(gpus[0], t->addr) == group);
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(gpus[1], t->addr) == group);
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K),
			group ? 16 : 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->device_maps),
			group ? 3 * SZ_2M / PAGE_SIZE : 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->migrations), 0);

	/*
	 * The CPU writes; every VM reads the new data. The pages move back
	 * from device 1 only in the group; with two owners they already are
	 * in system memory and device 2 keeps its mapping of them.
	 */
	test_fill_user(test, t->addr, SZ_64K, 8);
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpus[0], t->addr));
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(gpus[1], t->addr));
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(gpus[2], t->addr) != group);
	for (i = ARRAY_SIZE(gpus) - 1; i >= 0; i--)
		test_expect_data(test, gpus[i], t->addr, SZ_64K, 8);
	test_expect_data(test, NULL, t->addr, SZ_64K, 8);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

static const bool multi_group_params[] = { false, true };

static void multi_group_desc(const bool *group, char *desc)
{
	strscpy(desc, *group ? "one owner group" : "two owners",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(multi_group, multi_group_params, multi_group_desc);

/*
 * Three VMs of one device map the same system pages, two for read and
 * write, one read-only: the DMA-API debug checks stay quiet, the GPUs share
 * one DMA address per page and see each other's writes.
 */
static void multi_three_vms_share_system_pages(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct multi_dev *d = multi_dev_create(t);
	struct test_gpu *gpus[3] = { d->gpu, multi_vm_create(d),
				     multi_vm_create(d) };
	struct drm_gpusvm_range *r0, *r1;
	u64 val = 0xfeedfacecafebeefULL;
	int i;

	for (i = 0; i < ARRAY_SIZE(gpus); i++) {
		/* System memory only. */
		gpus[i]->migrate = NULL;
		gpus[i]->ctx.device_private_page_owner = NULL;
	}
	gpus[2]->ctx.read_only = true;

	test_fill_user(test, t->addr, SZ_64K, 9);
	for (i = 0; i < ARRAY_SIZE(gpus); i++)
		test_expect_data(test, gpus[i], t->addr, SZ_64K, 9);

	r0 = test_gpu_range_at(gpus[0], t->addr);
	r1 = test_gpu_range_at(gpus[1], t->addr);
	KUNIT_ASSERT_NOT_NULL(test, r0);
	KUNIT_ASSERT_NOT_NULL(test, r1);
	KUNIT_EXPECT_EQ(test, r0->pages.dma_addr[0].addr,
			r1->pages.dma_addr[0].addr);
	KUNIT_EXPECT_EQ(test, (int)r0->pages.dma_addr[0].dir,
			DMA_BIDIRECTIONAL);

	/* VM 0 writes, VM 1 and VM 2 read it; VM 2 may not write. */
	KUNIT_ASSERT_EQ(test, test_gpu_write(gpus[0], t->addr + 64, &val,
					     sizeof(val)), 0);
	for (i = 1; i < ARRAY_SIZE(gpus); i++) {
		val = 0;
		KUNIT_ASSERT_EQ(test, test_gpu_read(gpus[i], t->addr + 64, &val,
						    sizeof(val)), 0);
		KUNIT_EXPECT_EQ(test, val, 0xfeedfacecafebeefULL);
	}
	KUNIT_EXPECT_EQ(test, test_gpu_write(gpus[2], t->addr, &val,
					     sizeof(val)), -EPERM);
	KUNIT_EXPECT_EQ(test, copy_from_user(&val, (void __user *)t->addr + 64,
					     sizeof(val)), 0);
	KUNIT_EXPECT_EQ(test, val, 0xfeedfacecafebeefULL);
	test_expect_data(test, NULL, t->addr, 64, 9);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * Contention: two devices migrate the same 64K range into their own memory
 * over and over while a CPU kthread writes it. Each device reads the range
 * after each attempt and checks every word against what the CPU wrote
 * before and during the read.
 */
#define CONTEND_ITERATIONS	60
#define CONTEND_WRITES		200
#define CONTEND_PAGES		16
#define CONTEND_MAX_ITERATIONS	20000
#define CONTEND_MIN_READS	(CONTEND_ITERATIONS / 2)
/*
 * Device faults do not wait for another device's timeslice: two owners
 * fighting over one range may take it from each other between a fault and
 * the access it served. Like a GPU, a contender then replays the access.
 */
#define CONTEND_REPLAYS		8

struct contend {
	struct multi_test *t;
	/* Generation of each page's last write begun and last write done. */
	unsigned long begun[CONTEND_PAGES];
	unsigned long done[CONTEND_PAGES];
	unsigned long writes;
	atomic_t running;
	struct completion finished;
	bool writer_done;
	int err;
};

struct contender {
	struct contend *c;
	struct multi_dev *d;
	unsigned long iterations, verified, failed, replays;
	int last_err;
};

static u64 contend_word(unsigned long gen, unsigned long j)
{
	return (u64)gen << 32 | j;
}

/*
 * Word j of page p holds (gen << 32 | j): gen is 0 (the initial fill) or a
 * generation of page p. A read must see no generation older than the last
 * write done before it began, nor newer than the last write begun before it
 * ended.
 */
static bool contend_page_ok(struct contend *c, unsigned int p, const u64 *buf,
			    unsigned long lo, unsigned long hi)
{
	unsigned long j, gen;

	for (j = 0; j < PAGE_SIZE / sizeof(u64); j++) {
		if ((buf[j] & 0xffffffff) != j)
			return false;
		gen = buf[j] >> 32;
		if (gen < lo || gen > hi || (gen && gen % CONTEND_PAGES != p))
			return false;
	}
	return true;
}

/* At least CONTEND_ITERATIONS, and as long as the CPU writes (bounded). */
static bool contend_more(struct contend *c, unsigned int i)
{
	if (c->err || i >= CONTEND_MAX_ITERATIONS)
		return false;
	return i < CONTEND_ITERATIONS || !READ_ONCE(c->writer_done);
}

static int contend_gpu(void *data)
{
	struct contender *k = data;
	struct contend *c = k->c;
	struct multi_test *t = c->t;
	struct test_gpu *gpu = k->d->gpu;
	struct drm_gpusvm_range *range;
	unsigned long lo, hi;
	unsigned int i, p, r;
	bool ok;
	u64 *buf;
	int err;

	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf) {
		c->err = -ENOMEM;
		goto out;
	}
	for (i = 0; contend_more(c, i); i++) {
		/*
		 * The placement step of a driver's fault: take the range into
		 * this device's memory unless its pages already are there (or
		 * on a peer's); a refusal leaves them where they are.
		 */
		mutex_lock(&gpu->lock);
		range = drm_gpusvm_range_find_or_insert(&gpu->gpusvm, t->addr,
							gpu->gpuva_start,
							gpu->gpuva_end,
							&gpu->ctx);
		err = IS_ERR(range) ? PTR_ERR(range) : multi_migrate(gpu, range);
		mutex_unlock(&gpu->lock);
		if (err && err != -EBUSY)
			c->err = err;

		ok = true;
		for (p = 0; p < CONTEND_PAGES && ok; p++) {
			lo = READ_ONCE(c->done[p]);
			/* Pairs with the writer's barrier before done[]. */
			smp_rmb();
			for (r = 0; r <= CONTEND_REPLAYS; r++) {
				err = test_gpu_read(gpu, t->addr + p * PAGE_SIZE,
						    buf, PAGE_SIZE);
				if (err != -EAGAIN)
					break;
				k->replays++;
			}
			/* Pairs with the writer's barrier after begun[]. */
			smp_rmb();
			hi = READ_ONCE(c->begun[p]);
			if (err) {
				/* Every replay ran out of retries: count it. */
				k->failed++;
				k->last_err = err;
				ok = false;
			} else if (!contend_page_ok(c, p, buf, lo, hi)) {
				c->err = -EIO;
				ok = false;
			}
		}
		if (ok)
			k->verified++;
		/* Let the writer in, even on one CPU. */
		usleep_range(50, 100);
	}
	k->iterations = i;
	kfree(buf);
out:
	test_kthread_finish(&c->running, &c->finished);
	return 0;
}

/* The only writer: page i % 16 gets generation i. */
static int contend_cpu(void *data)
{
	struct contend *c = data;
	struct multi_test *t = c->t;
	unsigned long i, j, p, addr;
	u64 *buf;

	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf) {
		c->err = -ENOMEM;
		goto out;
	}
	kthread_use_mm(t->mm);
	for (i = 1; i <= CONTEND_WRITES && !c->err; i++) {
		p = i % CONTEND_PAGES;
		addr = t->addr + p * PAGE_SIZE;
		for (j = 0; j < PAGE_SIZE / sizeof(u64); j++)
			buf[j] = contend_word(i, j);
		WRITE_ONCE(c->begun[p], i);
		/* begun[] before the data: a reader seeing it knows of it. */
		smp_wmb();
		if (copy_to_user((void __user *)addr, buf, PAGE_SIZE)) {
			c->err = -EFAULT;
			break;
		}
		/* The data before done[]: a reader knowing of it sees it. */
		smp_wmb();
		WRITE_ONCE(c->done[p], i);
		c->writes++;
		usleep_range(100, 200);
	}
	WRITE_ONCE(c->writer_done, true);
	kthread_unuse_mm(t->mm);
	kfree(buf);
out:
	test_kthread_finish(&c->running, &c->finished);
	return 0;
}

static void multi_contention(struct kunit *test)
{
	bool group = *(const bool *)test->param_value;
	struct multi_test *t = test->priv;
	struct task_struct *tasks[3];
	struct contender *k[2];
	struct test_gpu *gpus[2];
	struct contend *c;
	unsigned long j, p;
	u64 *buf;
	int i;

	multi_connect(t, 0, 1, group);
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	c->t = t;
	init_completion(&c->finished);
	atomic_set(&c->running, ARRAY_SIZE(tasks));

	for (i = 0; i < 2; i++) {
		k[i] = kunit_kzalloc(test, sizeof(*k[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, k[i]);
		k[i]->c = c;
		k[i]->d = multi_dev_create(t);
		gpus[i] = k[i]->d->gpu;
		/* Ranges of 64K, the span both devices fight over. */
		gpus[i]->gpuva_start = t->addr;
		gpus[i]->gpuva_end = t->addr + SZ_64K;
		/* A short timeslice, so that the winner keeps its pages a bit. */
		gpus[i]->ctx.timeslice_ms = 2;
		/* The contenders place the range themselves, then read. */
		gpus[i]->migrate = NULL;
	}

	/* Generation 0 everywhere. */
	buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (j = 0; j < PAGE_SIZE / sizeof(u64); j++)
		buf[j] = contend_word(0, j);
	for (p = 0; p < CONTEND_PAGES; p++)
		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)t->addr +
						   p * PAGE_SIZE, buf,
						   PAGE_SIZE), 0);

	mmget(t->mm);
	tasks[0] = kthread_run(contend_gpu, k[0], "gpusvm-contend-0");
	tasks[1] = kthread_run(contend_gpu, k[1], "gpusvm-contend-1");
	tasks[2] = kthread_run(contend_cpu, c, "gpusvm-contend-cpu");
	for (i = 0; i < ARRAY_SIZE(tasks); i++)
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, tasks[i]);
	wait_for_completion(&c->finished);
	for (i = 0; i < ARRAY_SIZE(tasks); i++)
		kthread_stop(tasks[i]);
	mmput(t->mm);

	KUNIT_EXPECT_EQ(test, c->err, 0);
	KUNIT_EXPECT_EQ(test, c->writes, CONTEND_WRITES);
	for (i = 0; i < 2; i++) {
		kunit_info(test, "device %d: %lu iterations, %d migrated, %d refused, %d in place, %lu verified reads, %lu replays, %lu failed (last %d)\n",
			   i, k[i]->iterations, atomic_read(&k[i]->d->migrations),
			   atomic_read(&k[i]->d->refused),
			   atomic_read(&k[i]->d->in_place), k[i]->verified,
			   k[i]->replays, k[i]->failed, k[i]->last_err);
		KUNIT_EXPECT_LT(test, k[i]->iterations, CONTEND_MAX_ITERATIONS);
		KUNIT_EXPECT_GE(test, k[i]->verified, CONTEND_MIN_READS);
		/* Every read got through within its replays: nobody starved. */
		KUNIT_EXPECT_EQ(test, k[i]->failed, 0);
		/*
		 * With owners of their own, each device's read takes the
		 * pages back from the other, so each gets to migrate. In one
		 * group the loser reads through the peer mapping instead.
		 */
		if (!group)
			KUNIT_EXPECT_GT(test, atomic_read(&k[i]->d->migrations),
					0);
	}
	KUNIT_EXPECT_GT(test, atomic_read(&k[0]->d->migrations) +
			atomic_read(&k[1]->d->migrations), 0);

	/* The last generation of each page, read by both devices. */
	for (i = CONTEND_WRITES - CONTEND_PAGES + 1; i <= CONTEND_WRITES; i++) {
		u64 val;
		int g;

		for (g = 0; g < 2; g++) {
			KUNIT_ASSERT_EQ(test, test_gpu_read(gpus[g], t->addr +
							    (i % CONTEND_PAGES) *
							    PAGE_SIZE + 8,
							    &val, sizeof(val)),
					0);
			KUNIT_EXPECT_EQ(test, val, contend_word(i, 1));
		}
	}
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/* Let the reader go on for a while, then stop it: it must have kept going. */
static void reader_stop(struct kunit *test, struct test_reader *r)
{
	unsigned long before = READ_ONCE(r->reads);
	int i;

	for (i = 0; i < 1000 && !READ_ONCE(r->err); i++) {
		if (READ_ONCE(r->reads) >= before + 3)
			break;
		usleep_range(5000, 10000);
	}
	test_reader_stop(r);
	KUNIT_EXPECT_EQ(test, r->err, 0);
	KUNIT_EXPECT_GE(test, r->reads, before + 3);
}

/*
 * Two owners: device 1 migrates with a long timeslice. The timeslice holds
 * off only user-mode CPU faults: device 2's fault (hmm_range_fault(), a
 * remote fault under the mmap lock) takes the pages back to system memory at
 * once, long before the expiry, and device 1 is invalidated.
 */
static void multi_timeslice_holds_off_no_device(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct test_vram_alloc *alloc;
	struct multi_dev *d1, *d2;
	struct test_gpu *gpus[2];

	multi_two_devs(t, false, &d1, &d2, gpus);
	d1->gpu->migrate = NULL;
	d2->gpu->migrate = NULL;

	test_fill_user(test, t->addr, SZ_64K, 13);
	KUNIT_ASSERT_EQ(test, test_vram_migrate(d1->vram, t->mm, t->addr,
						t->addr + SZ_64K,
						60 * MSEC_PER_SEC, &alloc), 0);
	test_expect_data(test, d1->gpu, t->addr, SZ_64K, 13);
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 16);

	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 13);
	KUNIT_EXPECT_TRUE(test, time_before(jiffies,
					    READ_ONCE(alloc->devmem.timeslice_expiration)));
	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&alloc->devmem.detached));
	KUNIT_EXPECT_TRUE(test, test_gpu_mapped(d2->gpu, t->addr));
	KUNIT_EXPECT_FALSE(test, test_gpu_mapped(d1->gpu, t->addr));
	test_expect_data(test, d1->gpu, t->addr, SZ_64K, 13);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * Two VMs of one device share device pages; VM A is torn down while VM B
 * keeps reading. The device memory is the device's, not the VM's: the
 * pages stay where they are and only VM A's mappings go.
 */
static void multi_teardown_vm_while_other_works(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct multi_dev *d = multi_dev_create(t);
	struct test_gpu *gpus[2] = { d->gpu, multi_vm_create(d) };
	struct test_reader *r;

	test_fill_user(test, t->addr, SZ_64K, 10);
	test_expect_data(test, gpus[0], t->addr, SZ_64K, 10);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->migrations), 1);

	r = test_reader_start(test, t->mm, gpus[1], t->addr, SZ_64K, 10, false);
	test_gpu_fini(gpus[0]);
	reader_stop(test, r);

	KUNIT_EXPECT_EQ(test, device_pages(t, d->vram, t->addr, SZ_64K), 16);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->vram->device_maps),
			SZ_2M / PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->migrations), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&gpus[0]->ranges), 0);
	test_expect_data(test, gpus[1], t->addr, SZ_64K, 10);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * One owner group: device 2 reads device 1's pages through the peer
 * mapping while device 1 (its VM, then its memory) goes away. The eviction
 * invalidates device 2's mapping, which goes on from system memory or its
 * own memory; device 2 keeps the group's owner.
 */
static void multi_teardown_device_while_peer_works(struct kunit *test)
{
	struct multi_test *t = test->priv;
	struct drm_pagemap_owner *owner;
	struct multi_dev *d1, *d2;
	struct test_gpu *gpus[2];
	struct test_reader *r;

	multi_two_devs(t, true, &d1, &d2, gpus);
	owner = d2->peer.owner;

	test_fill_user(test, t->addr, SZ_64K, 11);
	test_expect_data(test, d1->gpu, t->addr, SZ_64K, 11);
	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 11);
	KUNIT_EXPECT_EQ(test, atomic_read(&d2->in_place), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&d1->vram->device_maps),
			2 * SZ_2M / PAGE_SIZE);

	r = test_reader_start(test, t->mm, d2->gpu, t->addr, SZ_64K, 11, false);
	test_gpu_fini(d1->gpu);
	test_vram_expect_clean(d1->vram);
	drm_pagemap_release_owner(&d1->peer);
	reader_stop(test, r);

	KUNIT_EXPECT_EQ(test, device_pages(t, d1->vram, t->addr, SZ_64K), 0);
	KUNIT_EXPECT_PTR_EQ(test, d2->peer.owner, owner);
	KUNIT_EXPECT_EQ(test, kref_read(&owner->kref), 1);
	test_expect_data(test, d2->gpu, t->addr, SZ_64K, 11);
	test_expect_data(test, NULL, t->addr, SZ_64K, 11);
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/*
 * GPU writes are never lost: device 2 writes through its mapping (device 1's
 * pages in the group, system pages otherwise) while device 1 keeps
 * migrating the range into its memory and evicting it. Every write the GPU
 * finished must be what the CPU and device 1 read at the end.
 */
#define WRITER_WRITES	300

struct gpu_writer {
	struct multi_test *t;
	struct test_gpu *gpu;
	unsigned long writes;
	bool done;
	int err;
};

static int gpu_writer_fn(void *data)
{
	struct gpu_writer *w = data;
	unsigned long i;
	u64 val;

	for (i = 1; i <= WRITER_WRITES && !w->err; i++) {
		val = i;
		w->err = test_gpu_write(w->gpu, w->t->addr +
					(i % CONTEND_PAGES) * PAGE_SIZE +
					(i / CONTEND_PAGES % 8) * sizeof(u64),
					&val, sizeof(val));
		if (!w->err)
			w->writes++;
		usleep_range(20, 50);
	}
	WRITE_ONCE(w->done, true);
	test_kthread_finish(NULL, NULL);
	return 0;
}

static void multi_gpu_writes_survive_migrations(struct kunit *test)
{
	bool group = *(const bool *)test->param_value;
	struct multi_test *t = test->priv;
	struct test_vram_alloc *alloc;
	unsigned long i, evictions = 0, migrations = 0;
	struct test_gpu *gpus[2];
	struct task_struct *task;
	struct multi_dev *d1, *d2;
	struct gpu_writer *w;
	u64 val;
	int err;

	multi_two_devs(t, group, &d1, &d2, gpus);
	for (i = 0; i < ARRAY_SIZE(gpus); i++) {
		gpus[i]->gpuva_start = t->addr;
		gpus[i]->gpuva_end = t->addr + SZ_64K;
	}
	/* Device 2 works wherever the pages are; device 1 moves them. */
	d2->gpu->migrate = NULL;
	w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	w->t = t;
	w->gpu = d2->gpu;
	test_fill_user(test, t->addr, SZ_64K, 12);

	mmget(t->mm);
	task = kthread_run(gpu_writer_fn, w, "gpusvm-gpu-writer");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, task);
	while (!READ_ONCE(w->done)) {
		err = test_vram_migrate(d1->vram, t->mm, t->addr,
					t->addr + SZ_64K, 0, &alloc);
		if (!err) {
			migrations++;
			usleep_range(100, 200);
			err = drm_pagemap_evict_to_ram(&alloc->devmem);
			KUNIT_EXPECT_EQ(test, err, 0);
			evictions += !err;
		} else {
			KUNIT_EXPECT_EQ(test, err, -EBUSY);
		}
		usleep_range(100, 200);
	}
	kthread_stop(task);
	mmput(t->mm);

	kunit_info(test, "%lu GPU writes, %lu migrations, %lu evictions\n",
		   w->writes, migrations, evictions);
	KUNIT_EXPECT_EQ(test, w->err, 0);
	KUNIT_EXPECT_EQ(test, w->writes, WRITER_WRITES);
	KUNIT_EXPECT_GT(test, migrations, 0);

	/* The last write to each word, read by device 1 and by the CPU. */
	for (i = WRITER_WRITES - 8 * CONTEND_PAGES + 1; i <= WRITER_WRITES;
	     i++) {
		unsigned long addr = t->addr + (i % CONTEND_PAGES) * PAGE_SIZE +
				     (i / CONTEND_PAGES % 8) * sizeof(u64);

		val = 0;
		KUNIT_ASSERT_EQ(test, test_gpu_read(d1->gpu, addr, &val,
						    sizeof(val)), 0);
		KUNIT_EXPECT_EQ(test, val, (u64)i);
		val = 0;
		KUNIT_ASSERT_EQ(test, copy_from_user(&val, (void __user *)addr,
						     sizeof(val)), 0);
		KUNIT_EXPECT_EQ(test, val, (u64)i);
	}
	/* Past the words written, the CPU's data is untouched. */
	for (i = 0; i < CONTEND_PAGES; i++)
		test_expect_data(test, NULL, t->addr + i * PAGE_SIZE + SZ_1K,
				 SZ_1K, test_pattern(12, i * PAGE_SIZE + SZ_1K));
	multi_expect_clean(t, gpus, ARRAY_SIZE(gpus));
}

/* Owner lists on their own: peers with an interconnect matrix. */
#define OWNER_PEERS	4

struct owner_test {
	struct drm_pagemap_owner_list list;
	struct drm_pagemap_peer peers[OWNER_PEERS];
	/* link[i][j]: peer i reaches peer j's memory. */
	bool link[OWNER_PEERS][OWNER_PEERS];
};

static bool owner_test_link(struct drm_pagemap_peer *p1,
			    struct drm_pagemap_peer *p2)
{
	struct owner_test *o = p1->private;

	return o->link[p1 - o->peers][p2 - o->peers];
}

static void owner_test_exit(struct kunit *test)
{
	struct owner_test *o = test->priv;
	int i;

	for (i = 0; i < OWNER_PEERS; i++)
		drm_pagemap_release_owner(&o->peers[i]);
	KUNIT_EXPECT_TRUE(test, list_empty(&o->list.peers));
}

static int owner_test_init(struct kunit *test)
{
	struct owner_test *o = kunit_kzalloc(test, sizeof(*o), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, o);
	drm_pagemap_owner_list_init(&o->list);
	for (i = 0; i < OWNER_PEERS; i++)
		o->peers[i].private = o;
	test->priv = o;
	return 0;
}

static int owner_acquire(struct owner_test *o, int i)
{
	return drm_pagemap_acquire_owner(&o->peers[i], &o->list,
					 owner_test_link);
}

static void owner_join(struct owner_test *o, int i, int j)
{
	o->link[i][j] = true;
	o->link[j][i] = true;
}

/*
 * Peers join the first group with whose every member they have an
 * interconnect; the others get owners of their own. A peer that leaves and
 * comes back rejoins its group, whose owner the rest kept.
 */
static void owner_groups_follow_interconnects(struct kunit *test)
{
	struct owner_test *o = test->priv;
	struct drm_pagemap_owner *a, *b;
	int i;

	owner_join(o, 0, 1);
	owner_join(o, 2, 3);
	for (i = 0; i < OWNER_PEERS; i++)
		KUNIT_ASSERT_EQ(test, owner_acquire(o, i), 0);

	a = o->peers[0].owner;
	b = o->peers[2].owner;
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_PTR_NE(test, a, b);
	KUNIT_EXPECT_PTR_EQ(test, o->peers[1].owner, a);
	KUNIT_EXPECT_PTR_EQ(test, o->peers[3].owner, b);
	KUNIT_EXPECT_EQ(test, kref_read(&a->kref), 2);
	KUNIT_EXPECT_EQ(test, kref_read(&b->kref), 2);

	drm_pagemap_release_owner(&o->peers[0]);
	KUNIT_EXPECT_NULL(test, o->peers[0].owner);
	KUNIT_EXPECT_NULL(test, o->peers[0].list);
	KUNIT_EXPECT_PTR_EQ(test, o->peers[1].owner, a);
	KUNIT_EXPECT_EQ(test, kref_read(&a->kref), 1);

	KUNIT_ASSERT_EQ(test, owner_acquire(o, 0), 0);
	KUNIT_EXPECT_PTR_EQ(test, o->peers[0].owner, a);
	KUNIT_EXPECT_EQ(test, kref_read(&a->kref), 2);
}

/*
 * A group is joined only with an interconnect to every member, both ways:
 * partly connected or one-way peers get owners of their own.
 */
static void owner_needs_every_member_both_ways(struct kunit *test)
{
	struct owner_test *o = test->priv;
	int i, j;

	owner_join(o, 0, 1);
	owner_join(o, 2, 0);		/* not with 1 */
	o->link[3][0] = true;		/* one way only */
	o->link[3][1] = true;
	for (i = 0; i < OWNER_PEERS; i++)
		KUNIT_ASSERT_EQ(test, owner_acquire(o, i), 0);

	KUNIT_EXPECT_PTR_EQ(test, o->peers[0].owner, o->peers[1].owner);
	for (i = 0; i < OWNER_PEERS; i++)
		for (j = 2; j < OWNER_PEERS; j++)
			if (i != j)
				KUNIT_EXPECT_PTR_NE(test, o->peers[i].owner,
						    o->peers[j].owner);
}

static void owner_rejects_bad_input(struct kunit *test)
{
	struct owner_test *o = test->priv;
	struct drm_pagemap_owner *owner;

	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(NULL, &o->list,
							owner_test_link),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(&o->peers[0], NULL,
							owner_test_link),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(&o->peers[0],
							&o->list, NULL),
			-EINVAL);
	KUNIT_EXPECT_TRUE(test, list_empty(&o->list.peers));

	/* Releasing a peer that is on no list does nothing. */
	drm_pagemap_release_owner(&o->peers[0]);

	KUNIT_ASSERT_EQ(test, owner_acquire(o, 0), 0);
	owner = o->peers[0].owner;
	KUNIT_EXPECT_EQ(test, owner_acquire(o, 0), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, o->peers[0].owner, owner);
	KUNIT_EXPECT_EQ(test, kref_read(&owner->kref), 1);
	KUNIT_EXPECT_TRUE(test, list_is_singular(&o->list.peers));

	drm_pagemap_release_owner(&o->peers[0]);
	drm_pagemap_release_owner(&o->peers[0]);
	KUNIT_EXPECT_TRUE(test, list_empty(&o->list.peers));
}

/*
 * A new owner that cannot be allocated gives -ENOMEM and leaves the peer
 * off the list; joining an existing group allocates nothing.
 */
static void owner_allocation_fails(struct kunit *test)
{
	struct owner_test *o = test->priv;

	test_fail_nth_init(test);

	owner_join(o, 0, 1);
	test_fail_nth = 1;
	KUNIT_EXPECT_EQ(test, owner_acquire(o, 0), -ENOMEM);
	test_fail_nth = 0;
	KUNIT_EXPECT_NULL(test, o->peers[0].list);
	KUNIT_EXPECT_NULL(test, o->peers[0].owner);
	KUNIT_EXPECT_TRUE(test, list_empty(&o->list.peers));

	KUNIT_ASSERT_EQ(test, owner_acquire(o, 0), 0);
	test_fail_nth = 1;
	KUNIT_EXPECT_EQ(test, owner_acquire(o, 1), 0);
	/* Nothing was allocated: the failure is still pending. */
	KUNIT_EXPECT_EQ(test, test_fail_nth, 1);
	test_fail_nth = 0;
	KUNIT_EXPECT_PTR_EQ(test, o->peers[1].owner, o->peers[0].owner);
}

static struct kunit_case drm_pagemap_owner_cases[] = {
	KUNIT_CASE(owner_groups_follow_interconnects),
	KUNIT_CASE(owner_needs_every_member_both_ways),
	KUNIT_CASE(owner_rejects_bad_input),
	KUNIT_CASE(owner_allocation_fails),
	{}
};

static struct kunit_suite drm_pagemap_owner_suite = {
	.name = "drm_gpusvm_pagemap_owner",
	.init = owner_test_init,
	.exit = owner_test_exit,
	.test_cases = drm_pagemap_owner_cases,
};

static struct kunit_case drm_gpusvm_multi_cases[] = {
	KUNIT_CASE(multi_two_vms_one_device),
	KUNIT_CASE(multi_two_devices_two_owners),
	KUNIT_CASE(multi_owner_group_maps_peer_pages),
	KUNIT_CASE(multi_owner_group_two_pagemaps),
	KUNIT_CASE(multi_owner_group_peer_and_system_pages),
	KUNIT_CASE_PARAM(multi_three_vms_two_devices, multi_group_gen_params),
	KUNIT_CASE(multi_three_vms_share_system_pages),
	KUNIT_CASE(multi_timeslice_holds_off_no_device),
	KUNIT_CASE(multi_teardown_vm_while_other_works),
	KUNIT_CASE(multi_teardown_device_while_peer_works),
	KUNIT_CASE_PARAM(multi_gpu_writes_survive_migrations,
			 multi_group_gen_params),
	KUNIT_CASE_PARAM_ATTR(multi_contention, multi_group_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	{}
};

static struct kunit_suite drm_gpusvm_multi_suite = {
	.name = "drm_gpusvm_multi",
	.init = multi_test_init,
	.test_cases = drm_gpusvm_multi_cases,
};

kunit_test_suites(&drm_pagemap_owner_suite, &drm_gpusvm_multi_suite);
