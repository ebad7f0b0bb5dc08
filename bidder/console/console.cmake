# The browser console (bidder/console/web, docs/console.md), built and embedded at build time:
#   1. `npm ci` into bidder/console/web/node_modules (again only when package-lock.json changes);
#   2. protoc with ts-proto writes the TypeScript types of proto/bidder/config/v1/config.proto
#      into web/src/gen/ (types only, no runtime code: the console speaks proto3 JSON);
#   3. esbuild bundles and minifies web/src into ${CMAKE_BINARY_DIR}/console/dist (about a second);
#   4. scripts/embed-files.cmake turns dist/ into console_assets.cpp (bytes + content types).
# Without node and npm (BIDDER_BUILD_CONSOLE=OFF, or not found) the binary embeds a placeholder
# page that says how to build the console, so the bidder itself still builds from Debian
# packages alone.
option(BIDDER_BUILD_CONSOLE "Build the browser console with npm and embed it (needs node, npm)" ON)
set(console_web ${PROJECT_SOURCE_DIR}/bidder/console/web)
set(console_out ${CMAKE_BINARY_DIR}/console)
set(console_cpp ${console_out}/console_assets.cpp)
file(MAKE_DIRECTORY ${console_out})
find_program(BIDDER_NODE node)
find_program(BIDDER_NPM npm)

if(BIDDER_BUILD_CONSOLE AND BIDDER_NODE AND BIDDER_NPM)
  set(console_built ON)
  set(console_dist ${console_out}/dist)
  file(GLOB console_sources CONFIGURE_DEPENDS ${console_web}/src/*.ts ${console_web}/src/*.css
       ${console_web}/src/*.html)
  # npm ci writes node_modules/.package-lock.json last: its absence or age reruns the install.
  set(console_installed ${console_web}/node_modules/.package-lock.json)
  add_custom_command(
    OUTPUT ${console_installed}
    COMMAND ${BIDDER_NPM} ci --no-audit --no-fund --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${console_installed}
    DEPENDS ${console_web}/package.json ${console_web}/package-lock.json
    WORKING_DIRECTORY ${console_web}
    COMMENT "Installing the console's npm packages (npm ci)" VERBATIM)
  add_custom_command(
    OUTPUT ${console_dist}/index.html ${console_dist}/app.js ${console_dist}/app.css
    COMMAND ${CMAKE_COMMAND} -E make_directory ${console_web}/src/gen
    COMMAND protobuf::protoc --plugin=protoc-gen-ts_proto=${console_web}/node_modules/.bin/protoc-gen-ts_proto
            --ts_proto_out=${console_web}/src/gen
            "--ts_proto_opt=onlyTypes=true,snakeToCamel=false,useDate=string,esModuleInterop=true,stringEnums=true,useOptionals=all"
            -I ${PROJECT_SOURCE_DIR}/proto -I ${PROJECT_SOURCE_DIR}
            bidder/config/v1/config.proto models/fixed/fixed.proto models/rules/rules.proto
    COMMAND ${BIDDER_NODE} ${console_web}/build.mjs ${console_dist}
    DEPENDS ${console_installed} ${console_sources} ${console_web}/build.mjs
            ${PROJECT_SOURCE_DIR}/proto/bidder/config/v1/config.proto
            ${PROJECT_SOURCE_DIR}/models/fixed/fixed.proto ${PROJECT_SOURCE_DIR}/models/rules/rules.proto
    WORKING_DIRECTORY ${console_web}
    COMMENT "Bundling the console (ts-proto types, esbuild)" VERBATIM)
  set(console_dist_files ${console_dist}/index.html ${console_dist}/app.js ${console_dist}/app.css)
else()
  set(console_built OFF)
  set(console_dist ${PROJECT_SOURCE_DIR}/bidder/console/placeholder)
  set(console_dist_files ${console_dist}/index.html)
  message(STATUS "bidder console: node/npm not found or BIDDER_BUILD_CONSOLE=OFF; embedding the placeholder page")
endif()

add_custom_command(
  OUTPUT ${console_cpp}
  COMMAND ${CMAKE_COMMAND} -DDIR=${console_dist} -DOUT=${console_cpp} -DBUILT=${console_built}
          -P ${PROJECT_SOURCE_DIR}/scripts/embed-files.cmake
  DEPENDS ${console_dist_files} ${PROJECT_SOURCE_DIR}/scripts/embed-files.cmake
  COMMENT "Embedding the console's files" VERBATIM)
set(BIDDER_CONSOLE_ASSETS_CPP ${console_cpp})
set(BIDDER_CONSOLE_BUILT ${console_built} CACHE INTERNAL "the console bundle is embedded (tests/CMakeLists.txt)")
