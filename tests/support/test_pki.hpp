#pragma once
// Certificates made at test time with the openssl command line: a CA, a
// server certificate for localhost / 127.0.0.1 / ::1 signed by it, and one
// from a second, untrusted CA (the "wrong certificate" a mirror may serve).
// Nothing is committed to the repository.

#include <string>

namespace test_support {

struct test_pki {
    std::string dir;
    std::string ca_cert;          ///< trust this
    std::string server_cert;      ///< localhost, 127.0.0.1, ::1; signed by ca_cert
    std::string server_key;
    std::string rogue_cert;       ///< the same names, signed by another CA
    std::string rogue_key;

    /// Creates everything in a fresh temporary folder. Throws std::runtime_error
    /// when openssl fails.
    static test_pki create();
};

}  // namespace test_support
