package notice

import "context"

// Sender delivers one notice on one channel to one address. An error is retried by the
// Worker; a kaiping.Error of KindInvalid (an address the server refused for good) is not.
type Sender interface {
	Send(ctx context.Context, d Delivery) error
}
