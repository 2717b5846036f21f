#include "test_pki.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace test_support {

namespace {

void run(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
        throw std::runtime_error("test_pki: failed: " + command);
}

void make_ca(const std::string& dir, const std::string& name) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" + name +
        " -keyout " + dir + "/" + name + ".key -out " + dir + "/" + name + ".pem");
}

void make_leaf(const std::string& dir, const std::string& ca, const std::string& leaf) {
    std::ofstream(dir + "/" + leaf + ".ext")
        << "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n"
           "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -keyout " + dir +
        "/" + leaf + ".key -out " + dir + "/" + leaf + ".csr");
    run("openssl x509 -req -in " + dir + "/" + leaf + ".csr -CA " + dir + "/" + ca + ".pem -CAkey " + dir + "/" + ca +
        ".key -CAcreateserial -days 2 -extfile " + dir + "/" + leaf + ".ext -out " + dir + "/" + leaf + ".pem");
}

}  // namespace

test_pki test_pki::create() {
    char pattern[] = "/tmp/redirector-pki-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("test_pki: mkdtemp failed");
    test_pki pki;
    pki.dir = pattern;
    make_ca(pki.dir, "ca");
    make_ca(pki.dir, "rogue-ca");
    make_leaf(pki.dir, "ca", "server");
    make_leaf(pki.dir, "rogue-ca", "rogue");
    pki.ca_cert = pki.dir + "/ca.pem";
    pki.server_cert = pki.dir + "/server.pem";
    pki.server_key = pki.dir + "/server.key";
    pki.rogue_cert = pki.dir + "/rogue.pem";
    pki.rogue_key = pki.dir + "/rogue.key";
    return pki;
}

}  // namespace test_support
