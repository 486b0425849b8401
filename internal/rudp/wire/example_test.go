package wire_test

import (
	"errors"
	"fmt"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// A sender's side of the document's file example: the INF, then one DAT per
// fragment, name first. Each datagram would go out as it is printed.
func ExampleNewPlan() {
	name, content := "smallFile.bin", []byte("It is a small file.")
	plan, err := wire.NewPlan(wire.KindFile, name, int64(len(content)), 4)
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 0, wire.MaxFrame)
	buf = wire.Append(buf[:0], plan.Info())
	fmt.Printf("INF %x\n", buf)
	for seq := uint32(1); seq <= plan.Count; seq++ {
		fr, err := plan.Fragment(seq)
		if err != nil {
			panic(err)
		}
		src := content
		if fr.Name {
			src = []byte(name)
		}
		data := src[fr.Start:fr.End]
		buf = wire.Append(buf[:0], wire.Frame{
			Header: wire.Header{Seq: seq, Count: plan.Count, Size: uint16(len(data)), Type: wire.DAT},
			Data:   data,
		})
		fmt.Printf("DAT %x %q\n", buf, data)
	}
	// Output:
	// INF 000004000009000400f266488446
	// DAT 0000010000090004030ce39a3b736d616c "smal"
	// DAT 00000200000900040361ba98fa6c46696c "lFil"
	// DAT 0000030000090004030866bf6c652e6269 "e.bi"
	// DAT 000004000009000103ea3571566e "n"
	// DAT 000005000009000403a953e34849742069 "It i"
	// DAT 00000600000900040322f09c9073206120 "s a "
	// DAT 000007000009000403e4565078736d616c "smal"
	// DAT 00000800000900040338bd9fac6c206669 "l fi"
	// DAT 000009000009000303c2dcdd216c652e "le."
}

// A receiver's answer to each datagram: ACK what is good, NACK a DAT whose
// crc fails, and drop the rest.
func ExampleParse() {
	good := wire.Append(nil, wire.Frame{
		Header: wire.Header{Seq: 1, Count: 6, Size: 4, Type: wire.DAT},
		Data:   []byte("Toto"),
	})
	damaged := append([]byte(nil), good...)
	wire.Corrupt(damaged, 3) // as the legacy sender's error simulation does

	for _, datagram := range [][]byte{good, damaged, []byte("junk")} {
		f, err := wire.Parse(datagram)
		switch {
		case err == nil:
			fmt.Printf("%v %d: answer %x\n", f.Type, f.Seq, wire.Append(nil, wire.AckFor(f)))
		case errors.Is(err, wire.ErrCRC) && f.Type == wire.DAT:
			fmt.Printf("damaged %v %d: answer %x\n", f.Type, f.Seq, wire.Append(nil, wire.NackFor(f)))
		default:
			fmt.Println("dropped:", err)
		}
	}
	// Output:
	// DAT 1: answer 00000100000600040100000000
	// damaged DAT 1: answer 00000100000600040200000000
	// dropped: wire: frame shorter than header: 4 bytes
}
