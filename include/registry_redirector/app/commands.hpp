#pragma once
/// The command line: serve, check, lookup, reduce. main() only calls run_cli.

namespace registry_redirector {

/// Runs the command named by argv[1]; returns the process exit code
/// (0 ok, 1 a rejected config or failed lookup, 2 a usage error).
int run_cli(int argc, char** argv);

}  // namespace registry_redirector
