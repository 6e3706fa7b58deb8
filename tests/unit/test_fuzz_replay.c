/* test_fuzz_replay.c: feeds every file of the fuzz corpus (tests/fuzz/corpus/)
 * through the same checks the libFuzzer targets make, so that what fuzzing
 * once found stays fixed in every ctest run, including the sanitizer build,
 * without needing clang. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A broken promise fails the test and names the input instead of aborting. */
static const char *replaying;
#define VS_FUZZ_CHECK(condition)                                                                   \
    do {                                                                                           \
        if (!(condition))                                                                          \
            fail_msg("%s: fuzz check failed: %s", replaying, #condition);                          \
    } while (0)
#define VS_FUZZ_NO_ENTRY
#include "../fuzz/fuzz_labels.c"
#include "../fuzz/fuzz_manifest.c"

static int replay_dir(const char *target, int (*one)(const uint8_t *, size_t))
{
    const char *source = getenv("VS_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", source && *source ? source : ".", target);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: cannot open the corpus (is VS_SOURCE_DIR set?)", dir);
    int replayed = 0;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        if (entry->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t data[1 << 20];
        size_t size = fread(data, 1, sizeof data, f);
        fclose(f);
        replaying = path;
        one(data, size);
        replayed++;
    }
    closedir(d);
    return replayed;
}

static void test_replay_manifest_corpus(void **state)
{
    (void)state;
    assert_true(replay_dir("manifest", vs_fuzz_manifest_one) >= 10);
}

static void test_replay_labels_corpus(void **state)
{
    (void)state;
    assert_true(replay_dir("labels", vs_fuzz_labels_one) >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_manifest_corpus),
        cmocka_unit_test(test_replay_labels_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
