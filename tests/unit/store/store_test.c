/* Tests for the store's records (src/store/store.c, images.c, gc.c, meta.c):
 * layout creation, blobs, work directories, names, lookup, collection. The
 * images here have no layers, so no archive code is involved; layers are
 * covered by the integration tests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/fs.h"
#include "base/mem.h"
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp_dir;

static int setup(void **state)
{
    char tmpl[] = "/tmp/kn-store-test-XXXXXX";
    tmp_dir = kn_xstrdup(mkdtemp(tmpl));
    return 0;
}

static int teardown(void **state)
{
    kn_err err = KN_ERR_INIT;
    kn_remove_tree(AT_FDCWD, tmp_dir, &err);
    kn_err_clear(&err);
    kn_freep(&tmp_dir);
    return 0;
}

static char *store_path(void)
{
    size_t len = strlen(tmp_dir) + 8;
    char *p = kn_xmalloc(len);
    snprintf(p, len, "%s/store", tmp_dir);
    return p;
}

static kn_store *open_store(void)
{
    kn_autofree char *path = store_path();
    kn_err err = KN_ERR_INIT;
    kn_store *s = kn_store_open(path, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

/* An image with no layers whose manifest and config are just bytes. */
static void add_image(kn_store *s, const char *tag, const char *config_text, kn_digest *manifest)
{
    kn_err err = KN_ERR_INIT;
    kn_digest config;
    assert_int_equal(kn_store_blob_put(s, config_text, strlen(config_text), &config, &err), 0);
    char text[256];
    snprintf(text, sizeof(text), "{\"config\":\"%s\"}", config.str);
    assert_int_equal(kn_store_blob_put(s, text, strlen(text), manifest, &err), 0);
    kn_store_image img = {
        .manifest = *manifest,
        .manifest_size = strlen(text),
        .manifest_media_type = "application/vnd.oci.image.manifest.v1+json",
        .config = config,
        .config_size = strlen(config_text),
        .config_media_type = "application/vnd.oci.image.config.v1+json",
        .created = 1700000000,
        .os = "linux",
        .arch = "amd64",
    };
    const char *names[] = {tag};
    img.names = names;
    img.n_names = tag ? 1 : 0;
    if (kn_store_image_add(s, &img, 1, NULL, &err) < 0)
        fail_msg("add: %s", err.msg);
}

static void test_store_open_creates_oci_layout(void **state)
{
    kn_store *s = open_store();
    const char *files[] = {"oci-layout", "index.json", "meta.db", "blobs/sha256", "layers", "tmp"};
    for (size_t i = 0; i < KN_ARRAY_LEN(files); i++) {
        struct stat st;
        if (fstatat(s->rootfd, files[i], &st, 0) < 0)
            fail_msg("no %s", files[i]);
    }
    kn_store_close(s);
}

static void test_store_open_refuses_foreign_directory(void **state)
{
    kn_autofree char *path = store_path();
    mkdir(path, 0755);
    char file[512];
    snprintf(file, sizeof(file), "%s/notes.txt", path);
    FILE *f = fopen(file, "w");
    fputs("mine\n", f);
    fclose(f);
    kn_err err = KN_ERR_INIT;
    assert_null(kn_store_open(path, &err));
    assert_non_null(strstr(err.msg, "is not a kiln store"));
    kn_err_clear(&err);
}

static void test_blob_put_then_read_verifies(void **state)
{
    kn_store *s = open_store();
    kn_err err = KN_ERR_INIT;
    kn_digest d;
    assert_int_equal(kn_store_blob_put(s, "hello", 5, &d, &err), 0);
    assert_string_equal(d.str,
                        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(kn_store_blob_read(s, &d, 100, &data, &len, &err), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    /* A changed file no longer verifies. */
    int fd = openat(s->blobsfd, d.str + 7, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "!", 1), 1);
    close(fd);
    assert_int_equal(kn_store_blob_read(s, &d, 100, &data, &len, &err), -1);
    assert_int_equal(err.code, KN_ECORRUPT);
    kn_err_clear(&err);
    kn_store_close(s);
}

static void test_open_sweeps_dead_work_dirs_only(void **state)
{
    kn_store *a = open_store();
    /* A dead process's directory: nobody holds its lock. */
    assert_int_equal(mkdirat(a->tmpfd, "1-dead", 0700), 0);
    assert_int_equal(mkdirat(a->tmpfd, "1-dead/sub", 0700), 0);
    kn_store *b = open_store();
    struct stat st;
    assert_int_equal(fstatat(b->tmpfd, "1-dead", &st, AT_SYMLINK_NOFOLLOW), -1);
    /* The live process's directory stays. */
    assert_int_equal(fstatat(b->tmpfd, a->work_name, &st, AT_SYMLINK_NOFOLLOW), 0);
    kn_autofree char *name = kn_xstrdup(a->work_name);
    kn_store_close(a);
    assert_int_equal(fstatat(b->tmpfd, name, &st, AT_SYMLINK_NOFOLLOW), -1);
    kn_store_close(b);
}

static void test_find_by_name_id_prefix_and_digest(void **state)
{
    kn_store *s = open_store();
    kn_digest m;
    add_image(s, "docker.io/library/bb:latest", "{\"a\":1}", &m);
    kn_err err = KN_ERR_INIT;
    kn_store_entry e;
    const char *refs[] = {"bb", "bb:latest", "docker.io/library/bb:latest", "library/bb"};
    for (size_t i = 0; i < KN_ARRAY_LEN(refs); i++) {
        if (kn_store_image_find(s, refs[i], &e, &err) < 0)
            fail_msg("find %s: %s", refs[i], err.msg);
        assert_true(kn_digest_eq(&e.manifest, &m));
        assert_int_equal(e.n_names, 1);
        kn_store_entry_free(&e);
    }
    kn_digest config = {0};
    assert_int_equal(kn_store_image_find(s, "bb", &e, &err), 0);
    config = e.config;
    kn_store_entry_free(&e);
    char ref[128];
    snprintf(ref, sizeof(ref), "bb@%s", m.str);
    assert_int_equal(kn_store_image_find(s, ref, &e, &err), 0);
    kn_store_entry_free(&e);
    assert_int_equal(kn_store_image_find(s, config.str, &e, &err), 0);
    kn_store_entry_free(&e);
    snprintf(ref, sizeof(ref), "%.12s", config.str + 7);
    assert_int_equal(kn_store_image_find(s, ref, &e, &err), 0);
    kn_store_entry_free(&e);
    assert_int_equal(kn_store_image_find(s, "bbb", &e, &err), -1);
    assert_int_equal(err.code, KN_EINPUT);
    assert_non_null(strstr(err.msg, "did you mean bb:latest?"));
    kn_err_clear(&err);
    kn_store_close(s);
}

static void test_untag_last_name_removes_image_and_gc_frees_blobs(void **state)
{
    kn_store *s = open_store();
    kn_digest m1, m2;
    add_image(s, "docker.io/library/one:latest", "{\"one\":1}", &m1);
    add_image(s, "docker.io/library/two:latest", "{\"two\":2}", &m2);
    kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_store_tag(s, &m1, "docker.io/library/alias:latest", &err), 0);
    bool removed = true;
    assert_int_equal(kn_store_untag(s, "docker.io/library/one:latest", NULL, &removed, &err), 0);
    assert_false(removed);
    assert_int_equal(kn_store_untag(s, "docker.io/library/alias:latest", &m1, &removed, &err), 0);
    assert_true(removed);
    /* Adding images held the store for writing; collection needs a process
     * that does not. */
    kn_store_close(s);
    s = open_store();
    bool ran;
    kn_gc_stats stats;
    assert_int_equal(kn_store_gc(s, true, true, &ran, NULL, NULL, &stats, &err), 0);
    assert_true(ran);
    assert_int_equal(stats.n_blobs, 2); /* the removed image's manifest and config */
    struct stat st;
    assert_int_equal(fstatat(s->blobsfd, m1.str + 7, &st, 0), -1);
    assert_int_equal(fstatat(s->blobsfd, m2.str + 7, &st, 0), 0);
    size_t n_problems = 99;
    assert_int_equal(kn_store_check(s, NULL, NULL, &n_problems, &err), 0);
    assert_int_equal(n_problems, 0);
    kn_store_close(s);
}

static void test_gc_gives_way_when_another_process_holds_the_store(void **state)
{
    kn_store *writer = open_store();
    kn_store *collector = open_store();
    kn_err err = KN_ERR_INIT;
    assert_int_equal(kn_store_hold(writer, &err), 0);
    bool ran = true;
    kn_gc_stats stats;
    assert_int_equal(kn_store_gc(collector, true, false, &ran, NULL, NULL, &stats, &err), 0);
    assert_false(ran);
    kn_store_close(writer);
    assert_int_equal(kn_store_gc(collector, true, false, &ran, NULL, NULL, &stats, &err), 0);
    assert_true(ran);
    kn_store_close(collector);
}

static void test_index_json_lists_names_and_is_repaired_at_open(void **state)
{
    kn_store *s = open_store();
    kn_digest m;
    add_image(s, "docker.io/library/bb:latest", "{\"a\":1}", &m);
    kn_store_close(s);
    kn_autofree char *path = store_path();
    char index[512];
    snprintf(index, sizeof(index), "%s/index.json", path);
    /* A kill between the commit and the index rewrite leaves it stale. */
    FILE *f = fopen(index, "w");
    fputs("{\"schemaVersion\":2,\"manifests\":[]}", f);
    fclose(f);
    s = open_store();
    char buf[4096] = {0};
    f = fopen(index, "r");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    assert_true(n > 0);
    assert_non_null(
        strstr(buf, "\"org.opencontainers.image.ref.name\":\"docker.io/library/bb:latest\""));
    assert_non_null(strstr(buf, m.str));
    kn_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_open_creates_oci_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_open_refuses_foreign_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_put_then_read_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_sweeps_dead_work_dirs_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_by_name_id_prefix_and_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untag_last_name_removes_image_and_gc_frees_blobs,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_gives_way_when_another_process_holds_the_store,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_json_lists_names_and_is_repaired_at_open, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
