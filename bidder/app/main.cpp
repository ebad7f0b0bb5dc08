// The `bidder` executable: all logic lives in bidder/app (cli.cpp, service.cpp).
#include "bidder/app/cli.hpp"

int main(int argc, char** argv) { return bidder::app::run_cli(argc, argv); }
