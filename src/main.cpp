#include "registry_redirector/app/commands.hpp"

int main(int argc, char** argv) { return registry_redirector::run_cli(argc, argv); }
