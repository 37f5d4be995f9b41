package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/goclip/goclip/tokenizer"
)

func ExampleTokenizer_Encode() {
	tok, err := tokenizer.Default()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Encode("A photo of a dog."))
	// Output: [49406 320 1125 539 320 1929 269 49407]
}
