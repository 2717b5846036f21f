#include <gtest/gtest.h>

#include "registry_redirector/routing/path_classifier.hpp"

namespace registry_redirector {
namespace {

struct path_case {
    const char* target;
    path_class klass;
    bool bad;
    const char* repository;
    const char* digest;
};

TEST(PathClassifierTest, EveryClass) {
    const std::string d = "sha256:da86e6ba6ca197bf6bc5e9d900febd906b133eaa4750e6bed647b0fbe50ed43e";
    const std::string blob = "/v2/pause/blobs/" + d;
    const std::string nested = "/v2/kubernetes/pause/blobs/" + d + "?x=1";
    for (const auto& c : std::initializer_list<path_case>{
             {"/", path_class::root, false, "", ""},
             {"/?q=1", path_class::root, false, "", ""},
             {"/v2", path_class::ping, false, "", ""},
             {"/v2/", path_class::ping, false, "", ""},
             {"/v2?x", path_class::ping, false, "", ""},
             {blob.c_str(), path_class::blob, false, "pause", d.c_str()},
             {nested.c_str(), path_class::blob, false, "kubernetes/pause", d.c_str()},
             {"/v2/a.b__c-d---e/blobs/sha512:AB=_-", path_class::blob, false, "a.b__c-d---e", "sha512:AB=_-"},
             {"/v2/a/blobs/multihash+base58:QmRZ", path_class::blob, false, "a", "multihash+base58:QmRZ"},
             {"/v2/pause/manifests/3.9", path_class::manifest, false, "pause", ""},
             {"/v2/kubernetes/pause/manifests/sha256:abc", path_class::manifest, false, "kubernetes/pause", ""},
             {"/v2/pause/manifests/sha256-abc.sig", path_class::manifest, false, "pause", ""},
             {"/v2/pause/blobs/latest", path_class::other_v2, false, "", ""},  // no ':'
             {"/v2/pause/blobs/uploads/", path_class::other_v2, true, "", ""},  // trailing empty segment
             {"/v2/pause/blobs/uploads", path_class::other_v2, false, "", ""},
             {"/v2/pause/tags/list?n=1000&last=v1", path_class::other_v2, false, "", ""},
             {"/v2/_catalog", path_class::other_v2, false, "", ""},
             {"/v2/pause/referrers/sha256:abc", path_class::other_v2, false, "", ""},
             {"/v2/Pause/blobs/sha256:abc", path_class::other_v2, false, "", ""},  // upper case: not a name
             {"/v2/a___b/blobs/sha256:abc", path_class::other_v2, false, "", ""},
             {"/v2/-a/manifests/x", path_class::other_v2, false, "", ""},
             {"/v2/a/manifests/.x", path_class::other_v2, false, "", ""},
             {"/v2/a/blobs/sha256:", path_class::other_v2, false, "", ""},
             {"/v2/a/blobs/:abc", path_class::other_v2, false, "", ""},
             {"/v2/a/blobs/sha256:a/b", path_class::other_v2, false, "", ""},
             {"/v2/../../foo/manifests/latest", path_class::other_v2, true, "", ""},
             {"/v2/a/./manifests/latest", path_class::other_v2, true, "", ""},
             {"/v2/a//manifests/latest", path_class::other_v2, true, "", ""},
             {"/v2/a/%2e%2E/manifests/latest", path_class::other_v2, true, "", ""},
             {"/v2/a/%2e/b", path_class::other_v2, true, "", ""},
             {"/v2/a/...b/c", path_class::other_v2, false, "", ""},
             {"/v2foo", path_class::artifact, false, "", ""},
             {"/v3/", path_class::artifact, false, "", ""},
             {"/privacy", path_class::artifact, false, "", ""},
             {"/binaries/kubernetes/v1.31.0/kubectl", path_class::artifact, false, "", ""},
         }) {
        const path_info p = classify_path(c.target);
        EXPECT_EQ(p.klass, c.klass) << c.target;
        EXPECT_EQ(p.bad, c.bad) << c.target;
        EXPECT_EQ(p.repository, c.repository) << c.target;
        EXPECT_EQ(p.digest, c.digest) << c.target;
    }
}

TEST(PathClassifierTest, PathAndV2PathKeepTheQuery) {
    const auto p = classify_path("/v2/pause/tags/list?n=1");
    EXPECT_EQ(p.path, "/v2/pause/tags/list");
    EXPECT_EQ(p.v2_path, "/pause/tags/list?n=1");
    EXPECT_EQ(classify_path("/v2").v2_path, "");
    EXPECT_EQ(classify_path("/v2?q").v2_path, "?q");
    EXPECT_EQ(classify_path("/a/b?c").v2_path, "/a/b?c");  // not a /v2 path: the whole target
}

TEST(PathClassifierTest, GrammarHelpers) {
    EXPECT_TRUE(is_oci_repository_name("a/b/c-d.e_f__g"));
    EXPECT_FALSE(is_oci_repository_name("a/"));
    EXPECT_FALSE(is_oci_repository_name("a..b"));
    EXPECT_FALSE(is_oci_repository_name(std::string(256, 'a')));
    EXPECT_TRUE(is_oci_tag("_x.Y-1"));
    EXPECT_FALSE(is_oci_tag(std::string(129, 'a')));
    EXPECT_FALSE(is_oci_digest("sha256"));
    EXPECT_FALSE(is_oci_digest("sha256+:ab"));
    EXPECT_TRUE(is_oci_digest("sha256:ab"));
}

}  // namespace
}  // namespace registry_redirector
