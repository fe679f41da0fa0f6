//! The load generator behind `relais-bench`: youth clients over real sockets, the
//! echo floor they are compared with, and what is measured on the server process.
