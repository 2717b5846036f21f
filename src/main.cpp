#include "registry_redirector/commands.hpp"

int main(int argc, char** argv) { return registry_redirector::run_cli(argc, argv); }
