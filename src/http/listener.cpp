#include "registry_redirector/http/listener.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include <cctype>

namespace registry_redirector {

std::string to_string(const endpoint_config& endpoint) {
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

void open_listener(boost::asio::ip::tcp::acceptor& acceptor, const endpoint_config& listen, std::string_view role,
                   int backlog) {
    namespace asio = boost::asio;
    boost::system::error_code ec;
    // error_code overloads: the throwing ones put Boost's source file and
    // line into what(), which tells an operator nothing.
    auto fail = [&](const boost::system::error_code& why) {
        std::string reason = why.message();
        if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
        throw listen_error("cannot listen on " + to_string(listen) + " (" + std::string(role) + "): " + reason);
    };
    const asio::ip::address address = asio::ip::make_address(listen.host, ec);
    if (ec) fail(ec);
    const asio::ip::tcp::endpoint endpoint(address, listen.port);
    acceptor.open(endpoint.protocol(), ec);
    if (ec) fail(ec);
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (address.is_v6()) acceptor.set_option(asio::ip::v6_only(false), ec);  // [::] takes IPv4 too
    if (ec) fail(ec);
    acceptor.bind(endpoint, ec);
    if (ec) fail(ec);
    acceptor.listen(backlog, ec);
    if (ec) fail(ec);
}

}  // namespace registry_redirector
