// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the GPU SVM helpers, run against the user address space of
 * the test thread and a DRM device from the KUnit helpers.
 */

#include <kunit/test.h>

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>

#include <drm/drm_device.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_kunit_helpers.h>

static const unsigned long test_chunk_sizes[] = { SZ_2M, SZ_64K, SZ_4K };

struct gpusvm_test {
	struct drm_device *drm;
	struct mm_struct *mm;
	unsigned long addr;
};

static void test_invalidate(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_notifier *notifier,
			    const struct mmu_notifier_range *mmu_range)
{
}

static const struct drm_gpusvm_ops test_ops = {
	.invalidate = test_invalidate,
};

static const struct drm_gpusvm_ops test_ops_no_invalidate = {};

/* Give the case a user mm (its own, from the first mapping) and a drm_device. */
static int gpusvm_test_init(struct kunit *test)
{
	struct gpusvm_test *t;
	struct device *dev;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);

	t->addr = kunit_vm_mmap(test, NULL, 0, SZ_4M, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_NE(test, t->addr, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(t->addr));
	t->mm = current->mm;
	KUNIT_ASSERT_NOT_NULL(test, t->mm);

	dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	t->drm = __drm_kunit_helper_alloc_drm_device(test, dev,
						     sizeof(*t->drm), 0, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->drm);

	test->priv = t;
	return 0;
}

static void drm_gpusvm_init_full_instance_grabs_mm(struct kunit *test)
{
	struct gpusvm_test *t = test->priv;
	struct drm_gpusvm gpusvm;
	int mm_count = atomic_read(&t->mm->mm_count);

	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&gpusvm, "test", t->drm, t->mm,
					      0, TASK_SIZE, SZ_512M, &test_ops,
					      test_chunk_sizes,
					      ARRAY_SIZE(test_chunk_sizes)), 0);
	KUNIT_EXPECT_PTR_EQ(test, gpusvm.mm, t->mm);
	KUNIT_EXPECT_PTR_EQ(test, gpusvm.drm, t->drm);
	KUNIT_EXPECT_EQ(test, gpusvm.notifier_size, SZ_512M);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count + 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&gpusvm.notifier_list));

	drm_gpusvm_fini(&gpusvm);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count);
}

static void drm_gpusvm_init_single_chunk_window(struct kunit *test)
{
	static const unsigned long only_4k[] = { SZ_4K };
	struct gpusvm_test *t = test->priv;
	struct drm_gpusvm gpusvm;
	int mm_count = atomic_read(&t->mm->mm_count);

	/* The smallest legal instance: one page, one 4K chunk, 4K notifiers. */
	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&gpusvm, "test", t->drm, t->mm,
					      t->addr, PAGE_SIZE, SZ_4K,
					      &test_ops, only_4k, 1), 0);
	drm_gpusvm_fini(&gpusvm);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count);
}

static void drm_gpusvm_init_pages_only_instance(struct kunit *test)
{
	struct gpusvm_test *t = test->priv;
	struct drm_gpusvm gpusvm;
	int mm_count = atomic_read(&t->mm->mm_count);

	KUNIT_ASSERT_EQ(test, drm_gpusvm_init(&gpusvm, "userptr", t->drm, NULL,
					      0, 0, 0, NULL, NULL, 0), 0);
	KUNIT_EXPECT_NULL(test, gpusvm.mm);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count);
	drm_gpusvm_fini(&gpusvm);
}

/* One argument of drm_gpusvm_init() broken at a time. */
struct init_args {
	const char *desc;
	bool full;		/* a full instance (mm set) or a pages-only one */
	unsigned long mm_start;
	unsigned long mm_range;
	unsigned long notifier_size;
	const struct drm_gpusvm_ops *ops;
	const unsigned long *chunk_sizes;
	int num_chunks;
};

static const unsigned long chunks_ascending[] = { SZ_4K, SZ_64K, SZ_2M };
static const unsigned long chunks_repeated[] = { SZ_2M, SZ_2M, SZ_4K };
static const unsigned long chunks_not_pow2[] = { SZ_2M, SZ_64K + SZ_4K, SZ_4K };
static const unsigned long chunks_last_not_4k[] = { SZ_2M, SZ_64K };
static const unsigned long chunks_last_8k[] = { SZ_2M, SZ_8K };

#define FULL(...) { .full = true, .mm_start = 0, .mm_range = SZ_1G, \
		    .notifier_size = SZ_512M, .ops = &test_ops, \
		    .chunk_sizes = test_chunk_sizes, \
		    .num_chunks = ARRAY_SIZE(test_chunk_sizes), __VA_ARGS__ }

static const struct init_args invalid_init_args[] = {
	FULL(.desc = "unaligned mm_start", .mm_start = SZ_4K + 1),
	FULL(.desc = "unaligned mm_range", .mm_range = SZ_1G - 1),
	FULL(.desc = "zero mm_range", .mm_range = 0),
	FULL(.desc = "window wraps", .mm_start = ULONG_MAX - SZ_1M + 1,
	     .mm_range = SZ_2M),
	FULL(.desc = "window ends at 2^64", .mm_start = ULONG_MAX - SZ_1M + 1,
	     .mm_range = SZ_1M),
	FULL(.desc = "notifier_size not a power of two",
	     .notifier_size = SZ_512M + SZ_2M),
	FULL(.desc = "zero notifier_size", .notifier_size = 0),
	FULL(.desc = "first chunk above notifier_size", .notifier_size = SZ_1M),
	FULL(.desc = "chunks ascending", .chunk_sizes = chunks_ascending),
	FULL(.desc = "chunks repeated", .chunk_sizes = chunks_repeated),
	FULL(.desc = "chunk not a power of two", .chunk_sizes = chunks_not_pow2),
	FULL(.desc = "last chunk 64K", .chunk_sizes = chunks_last_not_4k,
	     .num_chunks = ARRAY_SIZE(chunks_last_not_4k)),
	FULL(.desc = "last chunk 8K", .chunk_sizes = chunks_last_8k,
	     .num_chunks = ARRAY_SIZE(chunks_last_8k)),
	FULL(.desc = "no chunk sizes", .chunk_sizes = NULL, .num_chunks = 0),
	FULL(.desc = "zero chunks", .num_chunks = 0),
	FULL(.desc = "negative chunks", .num_chunks = -1),
	FULL(.desc = "no ops", .ops = NULL),
	FULL(.desc = "no invalidate op", .ops = &test_ops_no_invalidate),
	{ .desc = "pages-only with mm_start", .mm_start = SZ_4K },
	{ .desc = "pages-only with mm_range", .mm_range = SZ_4K },
	{ .desc = "pages-only with notifier_size", .notifier_size = SZ_512M },
	{ .desc = "pages-only with ops", .ops = &test_ops },
	{ .desc = "pages-only with chunk sizes", .chunk_sizes = test_chunk_sizes },
	{ .desc = "pages-only with num_chunks", .num_chunks = 1 },
};

static void init_args_desc(const struct init_args *args, char *desc)
{
	strscpy(desc, args->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(invalid_init, invalid_init_args, init_args_desc);

static void drm_gpusvm_init_rejects_invalid_args(struct kunit *test)
{
	const struct init_args *args = test->param_value;
	struct gpusvm_test *t = test->priv;
	struct drm_gpusvm gpusvm;
	int mm_count = atomic_read(&t->mm->mm_count);

	KUNIT_EXPECT_EQ(test, drm_gpusvm_init(&gpusvm, "test", t->drm,
					      args->full ? t->mm : NULL,
					      args->mm_start, args->mm_range,
					      args->notifier_size, args->ops,
					      args->chunk_sizes,
					      args->num_chunks), -EINVAL);
	/* A refused init takes no reference on the mm. */
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mm->mm_count), mm_count);
}

static struct kunit_case drm_gpusvm_init_cases[] = {
	KUNIT_CASE(drm_gpusvm_init_full_instance_grabs_mm),
	KUNIT_CASE(drm_gpusvm_init_single_chunk_window),
	KUNIT_CASE(drm_gpusvm_init_pages_only_instance),
	KUNIT_CASE_PARAM(drm_gpusvm_init_rejects_invalid_args,
			 invalid_init_gen_params),
	{}
};

static struct kunit_suite drm_gpusvm_init_suite = {
	.name = "drm_gpusvm_init",
	.init = gpusvm_test_init,
	.test_cases = drm_gpusvm_init_cases,
};

kunit_test_suite(drm_gpusvm_init_suite);

MODULE_DESCRIPTION("KUnit tests of the GPU SVM helpers");
MODULE_LICENSE("GPL");
