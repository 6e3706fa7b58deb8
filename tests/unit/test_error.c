/* vs_safe_name: names in messages can neither forge a line nor send a
 * terminal escape; printable and UTF-8 text passes unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vs_error.h"

static void printable_and_utf8_pass_unchanged(void **state)
{
    (void)state;
    char out[256];
    const char *names[] = {"", "clip.mp4", "b dir/clip two.mp4", "a/é/ünïcødé 视频 🎥.mkv",
                           "back\\slash\\x41"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(vs_safe_name(names[i], out, sizeof out), names[i]);
}

static void controls_and_invalid_bytes_are_escaped(void **state)
{
    (void)state;
    char out[256];
    assert_string_equal(vs_safe_name("a\nb\rc\td\x1b[2J\x7f", out, sizeof out),
                        "a\\x0ab\\x0dc\\x09d\\x1b[2J\\x7f");
    /* C1 CSI (U+009B), a lone continuation byte, 0xff, an overlong '/', a
     * surrogate, a sequence cut short by the end */
    assert_string_equal(vs_safe_name("\xc2\x9b"
                                     "1m|\x80|\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82",
                                     out, sizeof out),
                        "\\xc2\\x9b1m|\\x80|\\xff|\\xc0\\xaf|\\xed\\xa0\\x80|\\xe2\\x82");
    /* escaping twice changes nothing */
    char twice[256];
    assert_string_equal(vs_safe_name(out, twice, sizeof twice), out);
    assert_string_equal(VS_NAME("x\ny"), "x\\x0ay");
}

static void long_names_end_in_dots_never_mid_escape(void **state)
{
    (void)state;
    char out[16];
    assert_string_equal(vs_safe_name("0123456789abcdefghij", out, sizeof out), "0123456789ab...");
    assert_string_equal(vs_safe_name("0123456789\n\n\n", out, sizeof out), "0123456789...");
    assert_string_equal(vs_safe_name("0123456789abcde", out, sizeof out), "0123456789abcde");
    assert_string_equal(vs_safe_name("éééééééé", out, sizeof out), "éééééé...");
}

static void a_prefix_keeps_the_head_of_a_long_message(void **state)
{
    (void)state;
    vs_error err;
    memset(err.msg, 'x', sizeof err.msg - 1);
    err.msg[sizeof err.msg - 1] = 0;
    vs_error_prefix(&err, "%s: not recorded", "clip.mp4");
    assert_int_equal(strncmp(err.msg, "clip.mp4: not recorded: xxx", 27), 0);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(printable_and_utf8_pass_unchanged),
        cmocka_unit_test(controls_and_invalid_bytes_are_escaped),
        cmocka_unit_test(long_names_end_in_dots_never_mid_escape),
        cmocka_unit_test(a_prefix_keeps_the_head_of_a_long_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
