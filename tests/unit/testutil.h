/* testutil.h: helpers shared by the unit tests (temporary dirs, synthetic clips). */
#ifndef VS_TESTUTIL_H
#define VS_TESTUTIL_H

/* Creates a fresh empty directory under $VS_TEST_TMP (or /tmp) and returns its path
 * (static storage per call site is not kept: copy it). */
const char *test_tmpdir(const char *name);
/* Runs a shell command; returns its exit status. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Directory with the built models ($VS_MODELS_DIR). */
const char *test_models_dir(void);

struct vs_manifest;
/* Loads the tiny test model NAME (test/NAME.manifest.json under
 * test_models_dir()) into manifest, or fails the test saying how to make it. */
void test_load_model(struct vs_manifest *manifest, const char *name);

#endif
