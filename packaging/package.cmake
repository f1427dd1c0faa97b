# Debian package of chorus (CPack DEB), included at the end of the root
# CMakeLists.txt. `bash packaging/build-deb.sh` builds it; see packaging/README.md.
#
# Contents: /usr/bin/chorus (installed by src/cli), the systemd unit, the
# default /etc/chorus/chorus.json (a conffile), the man page (when help2man is
# installed) and the docs. Dependencies come from dpkg-shlibdeps.

# `cpack` must not build every target (tests, benches) first: build-deb.sh
# builds what the package holds.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CHORUS_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})
install(FILES ${CHORUS_PACKAGING_DIR}/chorus.service DESTINATION lib/systemd/system)
install(FILES ${CHORUS_PACKAGING_DIR}/chorus.json DESTINATION /etc/chorus)
install(FILES ${CMAKE_SOURCE_DIR}/docs/agent.md ${CMAKE_SOURCE_DIR}/docs/cli.md ${CMAKE_SOURCE_DIR}/docs/operations.md
              ${CMAKE_SOURCE_DIR}/docs/compatibility.md ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION share/doc/chorus)

find_program(CHORUS_HELP2MAN help2man)
if(CHORUS_HELP2MAN)
  set(man ${CMAKE_BINARY_DIR}/packaging/chorus.1.gz)
  add_custom_command(
    OUTPUT ${man}
    COMMAND bash ${CHORUS_PACKAGING_DIR}/make-man.sh $<TARGET_FILE:chorus> ${PROJECT_VERSION} ${man}
    DEPENDS chorus ${CHORUS_PACKAGING_DIR}/make-man.sh ${CHORUS_PACKAGING_DIR}/chorus.h2m
    COMMENT "help2man: chorus.1")
  add_custom_target(chorus-man DEPENDS ${man})
  install(FILES ${man} DESTINATION share/man/man1)
else()
  # Without help2man the package still carries docs/cli.md and docs/agent.md.
  add_custom_target(chorus-man)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME chorus)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "chorus developers <chorus@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "cluster membership agent, wire-compatible with HashiCorp Serf 0.9")
set(CPACK_PACKAGE_DESCRIPTION
    "chorus runs on every node of a cluster: the agents find each other by SWIM gossip\n"
    "with the Lifeguard refinements, detect failures, spread user events, answer\n"
    "queries and compute Vivaldi network coordinates. It speaks Serf 0.9's gossip,\n"
    "encryption and RPC protocols, so chorus and serf agents can share a cluster.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# postinst makes the chorus user with adduser, or useradd where it is missing.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser | passwd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "serf")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CHORUS_PACKAGING_DIR}/conffiles ${CHORUS_PACKAGING_DIR}/postinst ${CHORUS_PACKAGING_DIR}/prerm
    ${CHORUS_PACKAGING_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/packages)
include(CPack)

# Package tests (label `package`): slow (a debootstrap on first run, an apt
# download, a Docker image build), so off by default and not part of CI:
#   cmake -DCHORUS_PACKAGE_TESTS=ON ... && ctest -L package
option(CHORUS_PACKAGE_TESTS "Register the .deb and Docker image tests (label package)" OFF)
if(CHORUS_TESTS AND CHORUS_PACKAGE_TESTS)
  add_test(NAME package_deb_installs_and_runs COMMAND bash ${CHORUS_PACKAGING_DIR}/test-deb.sh ${CMAKE_BINARY_DIR})
  add_test(NAME package_docker_three_node_cluster COMMAND bash ${CHORUS_PACKAGING_DIR}/test-docker.sh)
  set_tests_properties(package_deb_installs_and_runs package_docker_three_node_cluster
                       PROPERTIES LABELS package RUN_SERIAL ON TIMEOUT 1800)
endif()
