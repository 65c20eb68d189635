console.log('lenet');
