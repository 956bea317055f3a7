//! The macro behind the call table (`table.rs`): one line per call becomes the `LinuxCall` enum,
//! both architectures' numbers, the inputs hashed into events and the exhaustive dispatch.
//! Kept apart so that `table.rs` reads as the table.

/// The table's macro: see the module's documentation for a line's form.
macro_rules! linux_calls {
    (
        dispatch($linux:ident, $cx:ident, $regs:ident);
        $(
            $name:ident [$x86:tt, $a64:tt]
            ( $( $arg:ident $( : $kind:ident $( ( $param:tt ) )? )? ),* )
            => $handler:expr;
        )*
    ) => {
        /// A call the personality performs, whatever its number on the architecture.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum LinuxCall {
            $( $name, )*
        }

        impl LinuxCall {
            /// Every call of the table, in its order.
            pub const ALL: &[LinuxCall] = &[ $( LinuxCall::$name, )* ];

            /// The call's number on `arch`, if the architecture has it.
            pub fn number(self, arch: Arch) -> Option<u64> {
                match (self, arch) {
                    $(
                        (LinuxCall::$name, Arch::X86_64) => linux_calls!(@number x86_64 $x86),
                        (LinuxCall::$name, Arch::Aarch64) => linux_calls!(@number aarch64 $a64),
                    )*
                }
            }

            /// What the call reads from the caller's memory, given its arguments: hashed into
            /// its event, so that replicas that would pass different bytes differ there.
            pub fn inputs(self, args: &[u64; 6]) -> Inputs {
                #[allow(unused_mut)]
                let mut inputs = Inputs::new();
                match self {
                    $(
                        LinuxCall::$name => {
                            #[allow(unused_variables)]
                            let [$( $arg, )* ..] = *args;
                            $( $(
                                // Four at most per call (the type's capacity): checked by a test.
                                let _ = inputs.push(linux_calls!(@input $arg $kind $( $param )?));
                            )? )*
                        }
                    )*
                }
                inputs
            }

            /// The call's line in the table, for the docs (name, arguments as written).
            pub fn signature(self) -> &'static str {
                match self {
                    $(
                        LinuxCall::$name => concat!(
                            stringify!($name), "(",
                            stringify!($( $arg $( : $kind $( ( $param ) )? )? ),*),
                            ")"
                        ),
                    )*
                }
            }
        }

        /// Performs `call` with arguments `args` once for all replicas.
        pub(crate) fn dispatch<W: World>(
            call: LinuxCall,
            args: &[u64; 6],
            $linux: &mut Linux,
            $cx: &mut Ctx<'_, '_, '_, W>,
            $regs: &mut RegisterFile,
        ) -> Outcome {
            match call {
                $(
                    LinuxCall::$name => {
                        #[allow(unused_variables)]
                        let [$( $arg, )* ..] = *args;
                        Outcome::from($handler)
                    }
                )*
            }
        }
    };
    (@number $arch:ident -) => { None };
    (@number $arch:ident $sysno:ident) => { Some(syscalls::$arch::Sysno::$sysno as u64) };
    (@input $arg:ident bytes $len:ident) => { Input::Bytes { addr: $arg, len: $len } };
    (@input $arg:ident str) => { Input::Str($arg) };
    (@input $arg:ident fixed $size:literal) => { Input::Fixed { addr: $arg, size: $size } };
    (@input $arg:ident iov $count:ident) => { Input::Iov { addr: $arg, count: $count } };
    (@input $arg:ident iov_array $count:ident) => { Input::IovArray { addr: $arg, count: $count } };
    (@input $arg:ident pollfds $n:ident) => {
        Input::Fixed { addr: $arg, size: crate::calls::poll::pollfd_bytes($n) }
    };
    (@input $arg:ident fdset $n:ident) => {
        Input::Fixed { addr: $arg, size: crate::calls::poll::fdset_bytes($n) }
    };
    (@input $arg:ident prctl_name $option:ident) => {
        // PR_SET_NAME (15) passes the name; other options pass numbers.
        Input::Fixed { addr: if $option == 15 { $arg } else { 0 }, size: 16 }
    };
}
pub(crate) use linux_calls;
