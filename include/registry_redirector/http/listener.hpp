#pragma once
/// Opening a listening socket with an error an operator can act on.

#include <boost/asio/ip/tcp.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

#include "registry_redirector/config/config.hpp"

namespace registry_redirector {

/// A listener that could not be opened, e.g.
/// "cannot listen on 0.0.0.0:8080 (redirect port): address already in use".
class listen_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// "HOST:PORT", or "[V6]:PORT".
std::string to_string(const endpoint_config& endpoint);

/// Opens, binds and listens `acceptor` on `listen` (SO_REUSEADDR; an IPv6
/// wildcard takes IPv4 too). `role` names the listener in the error
/// ("redirect port", "admin port"). Throws listen_error, whose text has no
/// source locations. Control plane only.
void open_listener(boost::asio::ip::tcp::acceptor& acceptor, const endpoint_config& listen, std::string_view role,
                   int backlog = boost::asio::socket_base::max_listen_connections);

}  // namespace registry_redirector
